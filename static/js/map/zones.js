// Control zones: the map state of a date (/api/v1/zones?date=&zoom=, the versions in force that
// day, generalised for the zoom) is drawn by comparing it with what is shown: only the zones
// whose version or grid changed get their SVG path updated. Ground is hatched when the version's
// confidence is "contested" or when the state flags it as overlapping a zone of another faction
// on that day.
import { h, names, sourceList } from "./dom.js";
import { t, tv } from "./i18n.js";

const SVG_NS = "http://www.w3.org/2000/svg";

function hatchId(slug) {
  return `cm-hatch-${slug.replace(/[^a-z0-9_-]/gi, "_")}`;
}

export function createZoneLayer(map, { factions }) {
  map.createPane("zones").style.zIndex = "410";
  const renderer = L.svg({ pane: "zones", padding: 0.5 });
  map.addLayer(renderer);
  const group = L.layerGroup([], { pane: "zones" });

  const shown = new Map(); // zone slug -> {version, layer}
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
    return version.props.confidence === "contested" || version.props.contested === true;
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
      h("div", {}, t("zone.heldBy"), " ", h("span", { class: "faction-name" }, names(faction))),
      h("div", { class: "small" }, t("zone.from", { from: p.valid_from }), " ",
        p.valid_to ? t("zone.until", { to: p.valid_to }) : t("zone.current")),
      h("div", { class: "small" }, t("zone.confidence", { confidence: tv("confidence", p.confidence) }),
        isContested(version) ? ` · ${t("zone.contested")}` : ""),
      p.status && p.status !== "published"  // only those who may view drafts get these
        ? h("div", { class: "not-public" }, t("record.notPublic", { status: tv("status", p.status) }))
        : null,
      p.note ? h("p", { class: "small", dir: "auto" }, p.note) : null,
      sourceList(p.sources),
    );
  }

  function latlngsOf(version) {
    if (!version.latlngs) {
      const { type, coordinates } = version.geometry;
      version.latlngs = L.GeoJSON.coordsToLatLngs(coordinates, type === "MultiPolygon" ? 2 : 1);
    }
    return version.latlngs;
  }

  // A zone that changes hands without changing shape keeps its path: comparing the numbers is
  // much cheaper than projecting and drawing them again.
  function sameCoordinates(a, b) {
    if (a === b) return true;
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i += 1) {
      if (!sameCoordinates(a[i], b[i])) return false;
    }
    return true;
  }

  function label(entry) {
    const el = entry.layer.getElement?.();
    if (!el) return;
    const version = entry.version;
    el.dataset.faction = version.props.faction.slug;
    el.dataset.zone = version.props.zone;
    el.dataset.version = String(version.id);
    el.dataset.contested = String(isContested(version));
  }

  // One SVG path per zone: when a zone changes hands or shape, its path gets new coordinates and
  // style instead of being removed and drawn anew, which keeps steps over mass changes cheap.
  function entryFor(version) {
    const entry = { version, layer: null };
    entry.layer = L.polygon(latlngsOf(version), style(version));
    entry.layer.bindPopup(() => popup(entry.version), { maxWidth: 280 });
    entry.layer.on("add", () => label(entry));
    return entry;
  }

  // The versions of one state, converted once per answer (answers are kept per date).
  function versionsOf(collection) {
    if (!collection.versions) {
      collection.versions = collection.features.map((feature) => ({
        id: feature.properties.version ?? feature.id,
        grid: collection.grid_degrees ?? null,
        props: feature.properties,
        geometry: feature.geometry,
        latlngs: null,
      }));
    }
    return collection.versions;
  }

  // Draws the state of `day`; returns the number of zones drawn, redrawn or removed, for the
  // page's measurements.
  function show(day, collection) {
    date = day;
    const inForce = new Map();
    for (const version of versionsOf(collection)) inForce.set(version.props.zone, version);
    let changed = 0;
    for (const [zone, entry] of shown) {
      if (!inForce.has(zone)) {
        group.removeLayer(entry.layer);
        shown.delete(zone);
        changed += 1;
      }
    }
    for (const [zone, version] of inForce) {
      const entry = shown.get(zone);
      if (!entry) {
        const created = entryFor(version);
        shown.set(zone, created);
        group.addLayer(created.layer);
        changed += 1;
      } else if (entry.version !== version) {
        const before = entry.version;
        entry.version = version;
        const same = before.id === version.id && before.grid === version.grid;
        if (!same && !sameCoordinates(before.geometry.coordinates, version.geometry.coordinates)) {
          entry.layer.setLatLngs(latlngsOf(version));
        }
        if (!same || isContested(before) !== isContested(version) || before.props.confidence !== version.props.confidence) {
          entry.layer.setStyle(style(version));
          label(entry);
          changed += 1;
        }
      }
    }
    return changed;
  }

  function visible() {
    return [...shown.values()].map((entry) => entry.version.props);
  }

  return {
    layer: group,
    show,
    visible,
    get date() { return date; },
    get count() { return shown.size; },
  };
}
