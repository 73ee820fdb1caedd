// The legend: faction colour, name (with its Arabic form), backers and km² held on the slider date.
import { formatKm2, h, names } from "./dom.js";
import { localName, t } from "./i18n.js";

// Backers are listed by their short name in English and by their Arabic name in Arabic.
function backerName(faction) {
  if (!faction) return "";
  const local = localName(faction);
  return local !== faction.name ? local : faction.short_name || faction.name;
}

export function createLegend({ factions }) {
  const body = document.querySelector("#legend tbody");
  const dateLabel = document.getElementById("legend-date");
  // An ISO date reads left to right in an Arabic sentence too.
  dateLabel.dir = "ltr";
  let area = null; // {steps: [...], series: [{faction, km2: [...]}]}

  function kmAt(slug, date) {
    if (!area) return null;
    let index = -1;
    for (let i = 0; i < area.steps.length && area.steps[i] <= date; i += 1) index = i;
    if (index < 0) return null;
    const series = area.series.find((s) => s.faction.slug === slug);
    return series ? series.km2[index] : null;
  }

  function render(date, visible) {
    dateLabel.textContent = date;
    const present = new Map();
    for (const props of visible) present.set(props.faction.slug, props.faction);
    const rows = [...present.values()]
      .map((faction) => ({ faction: factions.get(faction.slug) || { ...faction, backed_by: [] }, km2: kmAt(faction.slug, date) }))
      .sort((a, b) => (b.km2 ?? -1) - (a.km2 ?? -1) || localName(a.faction).localeCompare(localName(b.faction)));
    body.replaceChildren(...rows.map(({ faction, km2 }) => h(
      "tr",
      { dataset: { faction: faction.slug } },
      h("th", { scope: "row" },
        h("span", { class: "swatch", style: { background: faction.colour }, "aria-hidden": "true" }),
        names(faction)),
      h("td", { class: "small" }, (faction.backed_by || [])
        .map((slug) => backerName(factions.get(slug)) || slug).join(t("list.separator")) || "–"),
      h("td", { class: "num" }, formatKm2(km2)),
    )));
    if (rows.length === 0) {
      body.replaceChildren(h("tr", {}, h("td", { colspan: "3", class: "small" }, t("legend.empty"))));
    }
  }

  return {
    setArea(data) { area = data; },
    render,
  };
}
