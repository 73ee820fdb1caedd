import { formatNumber, localName, t } from "./i18n.js";

// Data fetched per date and kept: front lines and the contested flags of zones. A date's request
// is made once; play prefetches the next step so the line is usually there when the step lands.

export function createPerDateCache(api, path, extra = {}) {
  const cache = new Map();
  function get(date) {
    if (!cache.has(date)) {
      const promise = api.get(path, { date, ...extra }).catch((error) => {
        cache.delete(date);
        throw error;
      });
      cache.set(date, promise);
    }
    return cache.get(date);
  }
  return { get };
}

export function createFrontLineLayer(map, api, { factions = new Map() } = {}) {
  map.createPane("frontlines").style.zIndex = "430";
  const renderer = L.svg({ pane: "frontlines", padding: 0.5 });
  const cache = createPerDateCache(api, "frontlines");
  const group = L.layerGroup([], { pane: "frontlines" });
  const shown = new Map();
  let wanted = null;

  function layerFor(collection) {
    return L.geoJSON(collection, {
      pane: "frontlines",
      renderer,
      interactive: true,
      style: () => ({ color: "#111", weight: 3, opacity: 0.95, lineCap: "round", dashArray: "6 4" }),
      onEachFeature: (feature, layer) => {
        const sides = (feature.properties.factions || []).map((f) => localName(factions.get(f.slug) || f)).join(" / ");
        const km = feature.properties.length_km;
        const length = km != null ? ` (${t("frontline.length", { km: formatNumber(Math.round(km)) })})` : "";
        layer.bindTooltip(`${t("frontline.tip", { sides })}${length}`, { sticky: true });
      },
    });
  }

  async function setDate(date) {
    wanted = date;
    const collection = await cache.get(date);
    if (wanted !== date) return;
    group.clearLayers();
    if (!shown.has(date)) shown.set(date, layerFor(collection));
    group.addLayer(shown.get(date));
  }

  return { layer: group, setDate, prefetch: (date) => cache.get(date).catch(() => {}) };
}
