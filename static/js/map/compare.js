// Compare two dates: ground each faction gained and lost between them (/api/v1/changes), drawn
// over the zones and listed with km².
import { formatKm2, h } from "./dom.js";

export function createCompareLayer(map, api) {
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

  function table(collection) {
    const rows = collection.summary || [];
    if (rows.length === 0) return h("p", { class: "small" }, "No change of control between these dates.");
    return h(
      "table",
      { class: "compare-table" },
      h("caption", { class: "small" }, `From ${collection.from} to ${collection.to}`),
      h("thead", {}, h("tr", {},
        h("th", { scope: "col" }, "Faction"),
        h("th", { scope: "col", class: "num" }, "gained km²"),
        h("th", { scope: "col", class: "num" }, "lost km²"),
        h("th", { scope: "col", class: "num" }, "net"))),
      h("tbody", {}, rows.map((row) => h("tr", { dataset: { faction: row.faction.slug } },
        h("th", { scope: "row" }, h("span", { class: "swatch", style: `background:${row.faction.colour}` }), row.faction.name),
        h("td", { class: "num gained" }, formatKm2(row.gained_km2)),
        h("td", { class: "num lost" }, formatKm2(row.lost_km2)),
        h("td", { class: "num" }, `${row.net_km2 > 0 ? "+" : ""}${formatKm2(row.net_km2)}`)))),
    );
  }

  async function show(from, to) {
    const key = `${from}/${to}`;
    wanted = key;
    if (from === to) {
      group.clearLayers();
      result.replaceChildren(h("p", { class: "small" }, "Pick a date other than the slider date."));
      return;
    }
    const [a, b] = from < to ? [from, to] : [to, from];
    result.replaceChildren(h("p", { class: "small" }, "Loading changes…"));
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
          layer.bindTooltip(`${p.faction.name} ${p.kind} ${formatKm2(p.area_km2)} km²`, { sticky: true });
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
      result.replaceChildren(h("p", { class: "error" }, `Could not load changes: ${error.message}`));
    }
  }

  function hide() {
    wanted = null;
    group.clearLayers();
    result.replaceChildren();
  }

  return { layer: group, show, hide };
}
