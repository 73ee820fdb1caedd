// Control zones: every version of the period is loaded once; a step only adds and removes the
// versions whose period starts or ends between two dates, so it costs a scan of plain strings
// and a few SVG paths. A version is in force on D when valid_from <= D < valid_to (or no valid_to).
import { h, sourceList } from "./dom.js";

const SVG_NS = "http://www.w3.org/2000/svg";

function hatchId(slug) {
  return `cm-hatch-${slug.replace(/[^a-z0-9_-]/gi, "_")}`;
}

export function createZoneLayer(map, { factions }) {
  map.createPane("zones").style.zIndex = "410";
  const renderer = L.svg({ pane: "zones", padding: 0.5 });
  map.addLayer(renderer);
  const group = L.layerGroup([], { pane: "zones" });

  let versions = [];
  const shown = new Set();
  let contested = new Set();
  let date = null;

  function ensurePattern(faction) {
    const svg = map.getPane("zones").querySelector("svg");
    if (!svg || svg.getElementById(hatchId(faction.slug))) return;
    let defs = svg.querySelector("defs");
    if (!defs) {
      defs = document.createElementNS(SVG_NS, "defs");
      svg.prepend(defs);
    }
    const pattern = document.createElementNS(SVG_NS, "pattern");
    pattern.id = hatchId(faction.slug);
    pattern.setAttribute("patternUnits", "userSpaceOnUse");
    pattern.setAttribute("width", "8");
    pattern.setAttribute("height", "8");
    pattern.setAttribute("patternTransform", "rotate(45)");
    const back = document.createElementNS(SVG_NS, "rect");
    back.setAttribute("width", "8");
    back.setAttribute("height", "8");
    back.setAttribute("fill", faction.colour);
    back.setAttribute("fill-opacity", "0.35");
    const stripe = document.createElementNS(SVG_NS, "rect");
    stripe.setAttribute("width", "3");
    stripe.setAttribute("height", "8");
    stripe.setAttribute("fill", "#222");
    stripe.setAttribute("fill-opacity", "0.8");
    pattern.append(back, stripe);
    defs.append(pattern);
  }

  function isContested(version) {
    return version.props.confidence === "contested" || contested.has(version.id);
  }

  function style(version) {
    const faction = version.props.faction;
    const hatched = isContested(version);
    if (hatched) ensurePattern(faction);
    return {
      renderer,
      pane: "zones",
      color: faction.colour,
      weight: 1.5,
      opacity: 0.9,
      fillColor: hatched ? `url(#${hatchId(faction.slug)})` : faction.colour,
      fillOpacity: hatched ? 0.9 : 0.45,
      dashArray: version.props.confidence === "claimed" ? "4 3" : null,
    };
  }

  function popup(version) {
    const p = version.props;
    const faction = factions.get(p.faction.slug) || p.faction;
    return h(
      "div",
      { class: "zone-popup", dataset: { faction: p.faction.slug, zone: p.zone } },
      h("strong", {}, p.zone_name || p.zone),
      h("div", {}, "Held by ", h("span", { class: "faction-name" }, faction.name),
        faction.name_ar ? [" ", h("span", { lang: "ar", dir: "rtl" }, faction.name_ar)] : null),
      h("div", { class: "small" }, `From ${p.valid_from}`, p.valid_to ? ` until ${p.valid_to} (exclusive)` : " (current)"),
      h("div", { class: "small" }, `Confidence: ${p.confidence}`, isContested(version) ? " · contested" : ""),
      p.note ? h("p", { class: "small" }, p.note) : null,
      sourceList(p.sources),
    );
  }

  function layerFor(version) {
    if (!version.layer) {
      const layer = L.geoJSON(version.feature, { pane: "zones", renderer, style: () => style(version) });
      layer.bindPopup(() => popup(version), { maxWidth: 280 });
      layer.on("add", () => {
        layer.eachLayer((path) => {
          const el = path.getElement?.();
          if (!el) return;
          el.dataset.faction = version.props.faction.slug;
          el.dataset.zone = version.props.zone;
          el.dataset.version = String(version.id);
          el.dataset.contested = String(isContested(version));
        });
      });
      version.layer = layer;
      version.feature = null;
    }
    return version.layer;
  }

  function load(collection) {
    group.clearLayers();
    shown.clear();
    versions = collection.features.map((feature) => ({
      id: feature.properties.version ?? feature.id,
      from: feature.properties.valid_from,
      to: feature.properties.valid_to,
      props: feature.properties,
      feature,
      layer: null,
    }));
    date = null;
  }

  // Returns the number of paths added and removed, for the page's measurements.
  function setDate(day) {
    date = day;
    let changed = 0;
    for (const version of versions) {
      const inForce = version.from <= day && (version.to === null || day < version.to);
      if (inForce && !shown.has(version)) {
        shown.add(version);
        group.addLayer(layerFor(version));
        changed += 1;
      } else if (!inForce && shown.has(version)) {
        shown.delete(version);
        group.removeLayer(version.layer);
        changed += 1;
      }
    }
    return changed;
  }

  function setContested(ids) {
    contested = new Set(ids);
    for (const version of shown) {
      const hatched = isContested(version);
      version.layer.setStyle(style(version));
      version.layer.eachLayer((path) => {
        const el = path.getElement?.();
        if (el) el.dataset.contested = String(hatched);
      });
    }
  }

  function visible() {
    return [...shown].map((version) => version.props);
  }

  return {
    layer: group,
    load,
    setDate,
    setContested,
    visible,
    get date() { return date; },
    get count() { return versions.length; },
  };
}
