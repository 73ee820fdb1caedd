// Events: one marker shape and colour per ACLED event type, clustered when dense, for a window of
// days ending on the slider date; filtered by type, actor and text on the server.
import { arabic, h, sourceList } from "./dom.js";

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
  const fallback = { value: "", label: "Other", shape: "circle", colour: "#666" };
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
    const where = p.place?.name || p.location_name || "";
    const m = L.marker([lat, lng], {
      icon: icon(p.type),
      keyboard: true,
      title: `${p.type}, ${p.date}${where ? `, ${where}` : ""}`,
      alt: `${p.type} on ${p.date}`,
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

export function renderEventPanel(feature, { factions }) {
  const p = feature.properties;
  const actors = p.actors || [];
  const fatalities = p.fatalities === null || p.fatalities === undefined ? "unknown" : String(p.fatalities);
  const place = p.place
    ? [p.place.name, p.place.name_ar ? [" ", arabic(p.place.name_ar)] : null]
    : [p.location_name || "unnamed place"];
  const external = Object.entries(p.external_ids || {}).map(([system, value]) => `${system}: ${value}`);
  return h(
    "div",
    { class: "event-details", dataset: { eventId: String(p.id) } },
    h("dl", {},
      h("dt", {}, "Date"), h("dd", { class: "event-date" }, p.date,
        p.date_precision && p.date_precision !== "day" ? ` (within the ${p.date_precision})` : ""),
      h("dt", {}, "Type"), h("dd", {}, p.type, p.sub_type ? ` · ${p.sub_type}` : ""),
      h("dt", {}, "Place"), h("dd", {}, place,
        p.location_precision && p.location_precision !== "exact" ? ` (${p.location_precision})` : ""),
      h("dt", {}, "Actors"), h("dd", {}, actors.length
        ? h("ul", { class: "actors" }, actors.map((actor) => {
          const faction = factions.get(actor.slug);
          return h("li", {}, actor.name || actor.slug,
            faction?.name_ar ? [" ", arabic(faction.name_ar)] : null,
            actor.role ? h("span", { class: "small" }, ` (${actor.role.replaceAll("_", " ")})`) : null);
        }))
        : "none recorded"),
      h("dt", {}, "Fatalities"), h("dd", { class: "event-fatalities" }, fatalities),
      h("dt", {}, "Confidence"), h("dd", {}, p.confidence || "unknown"),
      external.length ? [h("dt", {}, "External ids"), h("dd", {}, external.join(", "))] : null,
    ),
    p.summary ? h("p", { class: "summary" }, p.summary) : null,
    h("h3", {}, "Sources"),
    sourceList(p.sources),
  );
}
