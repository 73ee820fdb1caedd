// Events: one marker shape and colour per ACLED event type, clustered when dense, for a window of
// days ending on the slider date; filtered by type, actor and text on the server.
import { h, names, sourceList } from "./dom.js";
import { localName, t, tv } from "./i18n.js";

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

export function createEventLayer(map, api, { eventTypes, onSelect, onLoaded }) {
  const types = new Map(eventTypes.map((type) => [type.value, type]));
  const fallback = { value: "", label: t("event.other"), shape: "circle", colour: "#666" };
  const icons = new Map();
  const cache = new Map();
  const cluster = L.markerClusterGroup({
    maxClusterRadius: 40,
    showCoverageOnHover: false,
    disableClusteringAtZoom: 11,
    chunkedLoading: true,
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

  async function update(params) {
    const k = key(params);
    wantedKey = k;
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
    features = collection.features || [];
    cluster.clearLayers();
    cluster.addLayers(features.filter((f) => f.geometry).map(marker));
    onLoaded?.(features);
  }

  return { layer: cluster, update, get features() { return features; }, icon };
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
