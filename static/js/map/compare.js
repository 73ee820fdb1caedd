// Compare two dates: ground each faction gained and lost between them (/api/v1/changes), drawn
// over the zones and listed with km².
import { formatKm2, h, names } from "./dom.js";
import { localName, t } from "./i18n.js";

export function createCompareLayer(map, api, { factions = new Map() } = {}) {
  map.createPane("compare").style.zIndex = "420";
  const renderer = L.svg({ pane: "compare", padding: 0.5 });
  const group = L.layerGroup([], { pane: "compare" });
  const result = document.getElementById("compare-result");
  let wanted = null;

  function style(feature) {
    const colour = feature.properties.faction.colour;
    const gained = feature.properties.kind === "gained";
    return {
      color: gained ? "#0a7d2c" : "#b00020",
      weight: 2.5,
      opacity: 1,
      dashArray: gained ? null : "5 4",
      fillColor: colour,
      fillOpacity: gained ? 0.7 : 0.1,
    };
  }

  function faction(data) {
    return factions.get(data.slug) || data;
  }

  function table(collection) {
    const rows = collection.summary || [];
    if (rows.length === 0) return h("p", { class: "small" }, t("compare.none"));
    return h(
      "table",
      { class: "compare-table" },
      h("caption", { class: "small" }, t("compare.caption", { from: collection.from, to: collection.to })),
      h("thead", {}, h("tr", {},
        h("th", { scope: "col" }, t("compare.faction")),
        h("th", { scope: "col", class: "num" }, t("compare.gained")),
        h("th", { scope: "col", class: "num" }, t("compare.lost")),
        h("th", { scope: "col", class: "num" }, t("compare.net")))),
      h("tbody", {}, rows.map((row) => h("tr", { dataset: { faction: row.faction.slug } },
        h("th", { scope: "row" }, h("span", { class: "swatch", style: { background: row.faction.colour } }), names(faction(row.faction), { alt: false })),
        h("td", { class: "num gained" }, formatKm2(row.gained_km2)),
        h("td", { class: "num lost" }, formatKm2(row.lost_km2)),
        h("td", { class: "num", dir: "ltr" }, `${row.net_km2 > 0 ? "+" : ""}${formatKm2(row.net_km2)}`)))),
    );
  }

  async function show(from, to) {
    const key = `${from}/${to}`;
    wanted = key;
    if (from === to) {
      group.clearLayers();
      result.replaceChildren(h("p", { class: "small" }, t("compare.sameDate")));
      return;
    }
    const [a, b] = from < to ? [from, to] : [to, from];
    result.replaceChildren(h("p", { class: "small" }, t("compare.loading")));
    try {
      const collection = await api.get("changes", { from: a, to: b });
      if (wanted !== key) return;
      group.clearLayers();
      group.addLayer(L.geoJSON(collection, {
        pane: "compare",
        renderer,
        style,
        onEachFeature: (feature, layer) => {
          const p = feature.properties;
          const words = { faction: localName(faction(p.faction)), area: formatKm2(p.area_km2) };
          // A text node: a string would be innerHTML, and the faction's name comes from the data.
          const tip = t(p.kind === "gained" ? "compare.gainedTip" : "compare.lostTip", words);
          layer.bindTooltip(document.createTextNode(tip), { sticky: true });
          layer.on("add", () => {
            const el = layer.getElement?.();
            if (el) {
              el.dataset.kind = p.kind;
              el.dataset.faction = p.faction.slug;
            }
          });
        },
      }));
      result.replaceChildren(table(collection));
    } catch (error) {
      if (wanted !== key) return;
      result.replaceChildren(h("p", { class: "error" }, t("compare.error", { error: error.message })));
    }
  }

  function hide() {
    wanted = null;
    group.clearLayers();
    result.replaceChildren();
  }

  return { layer: group, show, hide };
}
