import { localName, otherName } from "./i18n.js";

// Our own offline base layers: country outlines and governorates (/api/v1/regions) and place
// labels with their Arabic form (/api/v1/places). They need no tile server.

function placeThreshold(zoom) {
  if (zoom < 7) return 500000;
  if (zoom < 8) return 100000;
  if (zoom < 10) return 20000;
  return 0;
}

export function createRegionLayer(map, api) {
  const group = L.layerGroup();
  // Governorate names at low zoom sit on top of their capitals' labels: show them from zoom 8.
  const labels = L.layerGroup();
  function toggleLabels() {
    if (map.getZoom() >= 8 && map.hasLayer(group)) map.addLayer(labels);
    else map.removeLayer(labels);
  }
  group.on("add remove", () => setTimeout(toggleLabels));
  map.on("zoomend", toggleLabels);

  async function load() {
    const collection = await api.get("regions");
    const outlines = L.geoJSON(collection, {
      pane: "regions",
      interactive: false,
      style: (feature) => (feature.properties.level === "country"
        ? { color: "#333", weight: 2, fill: true, fillColor: "#f4f1ea", fillOpacity: 0.6 }
        : { color: "#666", weight: 1, dashArray: "3 3", fill: false }),
    });
    group.addLayer(outlines);
    for (const feature of collection.features) {
      if (feature.properties.level !== "governorate") continue;
      const center = L.geoJSON(feature).getBounds().getCenter();
      const other = otherName(feature.properties);
      const label = other ? `${localName(feature.properties)} · ${other.text}` : localName(feature.properties);
      labels.addLayer(L.tooltip({
        pane: "labels",
        permanent: true,
        direction: "center",
        className: "region-label",
        interactive: false,
      }).setLatLng(center).setContent(label));
    }
    toggleLabels();
    return collection;
  }

  return { layer: group, load };
}

export function createPlaceLayer(map, api) {
  const group = L.layerGroup();
  let places = [];

  function render() {
    group.clearLayers();
    const threshold = placeThreshold(map.getZoom());
    for (const feature of places) {
      const p = feature.properties;
      if ((p.population || 0) < threshold) continue;
      const [lng, lat] = feature.geometry.coordinates;
      const marker = L.circleMarker([lat, lng], {
        pane: "labels",
        radius: 2.5,
        color: "#222",
        weight: 1,
        fillColor: "#fff",
        fillOpacity: 1,
        interactive: false,
      });
      // The name in the page's language first, then its other form; each isolated in its own
      // direction inside the left-to-right map.
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
      marker.bindTooltip(text, {
        permanent: true,
        direction: "right",
        offset: [4, 0],
        className: "place-label",
        pane: "labels",
        interactive: false,
      });
      group.addLayer(marker);
    }
  }

  async function load() {
    const collection = await api.get("places");
    places = (collection.features || []).filter((f) => f.geometry)
      .sort((a, b) => (b.properties.population || 0) - (a.properties.population || 0));
    render();
    map.on("zoomend", render);
    return collection;
  }

  return { layer: group, load };
}
