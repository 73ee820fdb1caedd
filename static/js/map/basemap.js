import { createPlaceLayer as createPlaces, createRegionLayer as createRegions } from "../shared/basemap.js";
import { localName, otherName } from "./i18n.js";

// The public map's look of our offline base layers (js/shared/basemap.js, shared with the
// admin): outlines and governorates from /api/v1/regions, places from /api/v1/places fetched once,
// every name in the page's language with its other form beside it.

function placeThreshold(zoom) {
  if (zoom < 7) return 500000;
  if (zoom < 8) return 100000;
  if (zoom < 10) return 20000;
  return 0;
}

export function createRegionLayer(map, api) {
  return createRegions(map, {
    fetch: () => api.get("regions"),
    pane: "regions",
    labelPane: "labels",
    labelClass: "region-label",
    style: (feature) => (feature.properties.level === "country"
      ? { color: "#333", weight: 2, fill: true, fillColor: "#f4f1ea", fillOpacity: 0.6 }
      : { color: "#666", weight: 1, dashArray: "3 3", fill: false }),
    label: (p) => {
      const other = otherName(p);
      return other ? `${localName(p)} · ${other.text}` : localName(p);
    },
  });
}

// The name in the page's language first, then its other form; each isolated in its own direction
// inside the left-to-right map.
function placeLabel(p) {
  const text = document.createElement("span");
  const first = document.createElement("span");
  first.textContent = localName(p);
  if (first.textContent === p.name_ar) {
    first.lang = "ar";
    first.dir = "rtl";
    first.className = "ar";
  }
  text.append(first);
  const other = otherName(p);
  if (other) {
    const second = document.createElement("span");
    second.lang = other.lang;
    second.dir = other.lang === "ar" ? "rtl" : "ltr";
    second.className = other.lang === "ar" ? "ar" : "latin";
    second.textContent = other.text;
    text.append(" ", second);
  }
  return text;
}

// onClick(feature): a click on a place (its control timeline, js/map/control.js).
export function createPlaceLayer(map, api, { onClick } = {}) {
  // Every place comes in one request; each zoom draws those big enough from it.
  let request = null;
  return createPlaces(map, {
    fetch: () => (request ??= api.get("places")),
    marker: onClick ? { interactive: true, radius: 4 } : {},
    onClick,
    minimumPopulation: placeThreshold,
    pane: "labels",
    labelClass: "place-label",
    label: placeLabel,
  });
}
