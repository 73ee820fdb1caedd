// Events: one marker shape and colour per ACLED event type, clustered when dense, for a window of
// days ending on the slider date; filtered by type, actor and text on the server. A window that
// holds more than TILE_THRESHOLD events (a year or all of them at a million events) is drawn from
// the event vector tiles instead (Leaflet.VectorGrid): circles sized by count, aggregated by the
// server below zoom 9, single events above it, whose click opens the same panel.
import { daysBetween } from "./dates.js";
import { h, names, sourceList } from "./dom.js";
import { localName, t, tv } from "./i18n.js";

export const TILE_THRESHOLD = 3000;

// Leaflet.VectorGrid's tile layer, with its points' clicks working on Leaflet 1.9: a click on a
// layer that has getLatLng and a radius up to 10 px is placed at that layer's position, and a
// point drawn on a tile has none (the error "reading 'lat'"); without it, the click's own.
let EventTiles = null;
function eventTiles() {
  EventTiles ??= L.VectorGrid.Protobuf.extend({
    _createLayer(feature, pxPerExtent, layerStyle) {
      const layer = L.VectorGrid.Protobuf.prototype._createLayer.call(this, feature, pxPerExtent, layerStyle);
      if (layer) layer.getLatLng = null;
      return layer;
    },
  });
  return EventTiles;
}

// Leaflet.VectorGrid 1.3.0 (the latest) stops a click on a canvas feature with
// L.DomEvent.fakeStop, which Leaflet 1.8 removed: the flag it set is the one Leaflet still reads.
if (L.DomEvent && !L.DomEvent.fakeStop) {
  L.DomEvent.fakeStop = (event) => {
    event._stopped = true;
  };
}
const CELL_COLOUR = "#a50f15";

const SHAPES = {
  circle: '<circle cx="9" cy="9" r="6.5"/>',
  square: '<rect x="3" y="3" width="12" height="12"/>',
  triangle: '<path d="M9 2 L16.5 15.5 H1.5 Z"/>',
  diamond: '<path d="M9 1.5 L16.5 9 L9 16.5 L1.5 9 Z"/>',
  star: '<path d="M9 1.5 L11.1 6.6 L16.6 7 L12.4 10.6 L13.7 16 L9 13.1 L4.3 16 L5.6 10.6 L1.4 7 L6.9 6.6 Z"/>',
  cross: '<path d="M6.5 1.5 H11.5 V6.5 H16.5 V11.5 H11.5 V16.5 H6.5 V11.5 H1.5 V6.5 H6.5 Z"/>',
};

export function shapeSvg(type) {
  const shape = SHAPES[type.shape] || SHAPES.circle;
  return `<svg viewBox="0 0 18 18" width="18" height="18" aria-hidden="true" focusable="false">`
    + `<g fill="${type.colour}" stroke="#fff" stroke-width="1.5">${shape}</g></svg>`;
}

// estimate(params): a promise of about how many events the window holds (the page sums its
// events chart); without it, or with an actor or text filter (the tiles have neither), markers.
// `markersAfter`: a promise the markers' download waits for (the page's first zones: a week of
// events at a million is ~0.9 MB, which would compete with them); tiles start at once.
export function createEventLayer(map, api, { eventTypes, onSelect, onLoaded, estimate = null, markersAfter = null }) {
  const types = new Map(eventTypes.map((type) => [type.value, type]));
  const fallback = { value: "", label: t("event.other"), shape: "circle", colour: "#666" };
  const icons = new Map();
  const cache = new Map();
  const cluster = L.markerClusterGroup({
    maxClusterRadius: 40,
    showCoverageOnHover: false,
    disableClusteringAtZoom: 11,
    chunkedLoading: true,
    // Slices of 25 ms instead of 200: a slider step's frame is not held up behind them.
    chunkInterval: 25,
  });
  let wantedKey = null;
  let features = [];

  function icon(typeValue) {
    if (!icons.has(typeValue)) {
      const type = types.get(typeValue) || fallback;
      icons.set(typeValue, L.divIcon({
        className: `event-icon shape-${type.shape}`,
        html: shapeSvg(type),
        iconSize: [18, 18],
        iconAnchor: [9, 9],
      }));
    }
    return icons.get(typeValue);
  }

  function marker(feature) {
    const [lng, lat] = feature.geometry.coordinates;
    const p = feature.properties;
    const where = placeName(p);
    const type = tv("eventType", p.type);
    const title = where ? t("event.markerAt", { type, date: p.date, place: where }) : t("event.marker", { type, date: p.date });
    const m = L.marker([lat, lng], {
      icon: icon(p.type),
      keyboard: true,
      title,
      alt: title,
      riseOnHover: true,
    });
    m.on("click", () => onSelect(feature));
    m.on("add", () => {
      const el = m.getElement();
      if (el) {
        el.dataset.eventId = String(p.id);
        el.setAttribute("role", "button");
        el.setAttribute("aria-label", m.options.title);
      }
    });
    return m;
  }

  function key(params) {
    return JSON.stringify(params);
  }

  const group = L.layerGroup([cluster]);
  let tiles = null; // {key, layer}
  let mode = "markers";

  function cellStyle(p) {
    if (p.cluster) {
      const radius = Math.min(22, Math.max(4, 3 + 2.2 * Math.log2(p.count + 1)));
      return { radius, fill: true, fillColor: CELL_COLOUR, fillOpacity: 0.55, color: "#fff", weight: 1, opacity: 0.9 };
    }
    const type = types.get(p.type) || fallback;
    return { radius: 5, fill: true, fillColor: type.colour, fillOpacity: 0.9, color: "#fff", weight: 1.5, opacity: 1 };
  }

  // The full event behind a point of a detail tile: the API's feature of that id, found among the
  // events of its day in a box of a few pixels around the click.
  async function eventAt(p, latlng) {
    const pad = (360 / (256 * 2 ** map.getZoom())) * 12;
    const bbox = [latlng.lng - pad, latlng.lat - pad, latlng.lng + pad, latlng.lat + pad].map((v) => v.toFixed(6)).join(",");
    const found = await api.get("events", { start: p.date, end: p.date, type: p.type, bbox });
    return (found.features || []).find((f) => f.properties.id === p.id) || null;
  }

  function tileLayer(params) {
    const query = { start: params.start, end: params.end, type: params.type };
    const layer = new (eventTiles())(api.tileUrl("tiles/events/{z}/{x}/{y}.mvt", query), {
      rendererFactory: L.canvas.tile,
      interactive: true,
      maxNativeZoom: 16,
      vectorTileLayerStyles: { events: (properties) => cellStyle(properties) },
    });
    layer.on("click", (event) => {
      const p = event.layer.properties || {};
      if (p.cluster) {
        map.setView(event.latlng, Math.min(map.getZoom() + 2, 12));
      } else if (p.id !== undefined) {
        eventAt(p, event.latlng).then((feature) => feature && onSelect(feature), () => {});
      }
    });
    layer.on("load", () => {
      const el = map.getContainer();
      if (el.dataset.eventTiles !== key(query)) {
        el.dataset.eventTiles = key(query);
        performance.measure("events-drawn", { start: 0, end: performance.now(), detail: { tiles: true } });
      }
    });
    return layer;
  }

  // Counts by type in the window (exact, from /stats/events) and its latest events (its last
  // day), for the legend and the list, when the window is drawn from tiles.
  async function summary(params) {
    const days = daysBetween(params.start, params.end) + 1;
    const step = days <= 1000 ? "day" : days <= 7000 ? "week" : "month";
    const [stats, latest] = await Promise.all([
      api.get("stats/events", { from: params.start, to: params.end, step, by: "type" }),
      api.get("events", { start: params.end, end: params.end, type: params.type }),
    ]);
    const byType = new Map();
    for (const series of stats.series) {
      if (params.type && series.key !== params.type) continue;
      byType.set(series.key, series.counts.reduce((a, b) => a + b, 0));
    }
    const total = [...byType.values()].reduce((a, b) => a + b, 0);
    return { total, byType, latest: latest.features || [] };
  }

  async function wantsTiles(params) {
    if (!estimate || !api.tileUrl || params.actor || params.q) return false;
    return (await estimate(params)) > TILE_THRESHOLD;
  }

  function showTiles(params) {
    const k = key({ start: params.start, end: params.end, type: params.type });
    if (!tiles || tiles.key !== k) {
      if (tiles) group.removeLayer(tiles.layer);
      tiles = { key: k, layer: tileLayer(params) };
    }
    if (!group.hasLayer(tiles.layer)) group.addLayer(tiles.layer);
    if (group.hasLayer(cluster)) group.removeLayer(cluster);
    cluster.clearLayers();
    mode = "tiles";
  }

  function showMarkers() {
    if (tiles) {
      group.removeLayer(tiles.layer);
      tiles = null;
    }
    if (!group.hasLayer(cluster)) group.addLayer(cluster);
    mode = "markers";
  }

  async function update(params) {
    const k = key(params);
    wantedKey = k;
    if (await wantsTiles(params)) {
      if (wantedKey !== k) return;
      showTiles(params);
      features = [];
      const found = await summary(params);
      if (wantedKey !== k) return;
      onLoaded?.(found.latest, found);
      return;
    }
    if (markersAfter) {
      await markersAfter;
      if (wantedKey !== k) return;
    }
    if (!cache.has(k)) {
      const promise = api.get("events", params).catch((error) => {
        cache.delete(k);
        throw error;
      });
      cache.set(k, promise);
      if (cache.size > 60) cache.delete(cache.keys().next().value);
    }
    const collection = await cache.get(k);
    if (wantedKey !== k) return;
    showMarkers();
    features = collection.features || [];
    cluster.clearLayers();
    cluster.addLayers(features.filter((f) => f.geometry).map(marker));
    performance.measure("events-drawn", { start: 0, end: performance.now(), detail: { tiles: false } });
    onLoaded?.(features);
  }

  return { layer: group, update, get features() { return features; }, get mode() { return mode; }, icon };
}

// The place of an event in the page's language (the gazetteer's Arabic form in Arabic).
export function placeName(p) {
  return p.place ? localName(p.place) : p.location_name || "";
}

export function renderEventPanel(feature, { factions }) {
  const p = feature.properties;
  const actors = p.actors || [];
  const fatalities = p.fatalities === null || p.fatalities === undefined ? t("event.unknown") : String(p.fatalities);
  const place = p.place ? names(p.place) : [p.location_name || t("event.unnamedPlace")];
  const external = Object.entries(p.external_ids || {}).map(([system, value]) => `${system}: ${value}`);
  return h(
    "div",
    { class: "event-details", dataset: { eventId: String(p.id) } },
    h("dl", {},
      h("dt", {}, t("event.date")), h("dd", { class: "event-date" }, p.date,
        p.date_precision && p.date_precision !== "day" ? ` (${tv("datePrecision", p.date_precision)})` : ""),
      h("dt", {}, t("event.type")), h("dd", {}, tv("eventType", p.type), p.sub_type ? ` · ${tv("subType", p.sub_type)}` : ""),
      h("dt", {}, t("event.place")), h("dd", {}, place,
        p.location_precision && p.location_precision !== "exact" ? ` (${tv("locationPrecision", p.location_precision)})` : ""),
      h("dt", {}, t("event.actors")), h("dd", {}, actors.length
        ? h("ul", { class: "actors" }, actors.map((actor) => {
          const faction = factions.get(actor.slug) || { name: actor.name || actor.slug };
          return h("li", {}, names(faction),
            actor.role ? h("span", { class: "small" }, ` (${tv("role", actor.role)})`) : null);
        }))
        : t("event.noActors")),
      h("dt", {}, t("event.fatalities")), h("dd", { class: "event-fatalities" }, fatalities),
      h("dt", {}, t("event.confidence")), h("dd", {}, tv("confidence", p.confidence) || t("event.unknown")),
      external.length ? [h("dt", {}, t("event.externalIds")), h("dd", { dir: "ltr" }, external.join(", "))] : null,
    ),
    p.status && p.status !== "published"  // only those who may view drafts get these
      ? h("p", { class: "not-public" }, t("record.notPublic", { status: tv("status", p.status) }))
      : null,
    p.summary ? h("p", { class: "summary", dir: "auto" }, p.summary) : null,
    h("h3", {}, t("event.sources")),
    sourceList(p.sources),
  );
}
