// The admin's page of one history entry: the geometry of that entry (red, dashed) and the
// current one (blue) on one Leaflet map. The geometries come from the json_script
// #cm-history-geoms (GeoJSON, lon/lat); nothing is made global and no base tiles are needed.
(function () {
  "use strict";

  function draw() {
    const holder = document.getElementById("cm-history-map");
    const data = document.getElementById("cm-history-geoms");
    if (!holder || !data || typeof L === "undefined") return;
    const geoms = JSON.parse(data.textContent);
    const map = L.map(holder, { attributionControl: false });
    const layers = [];
    if (geoms.now) {
      layers.push(L.geoJSON(geoms.now, {
        style: { color: "#1f5fbf", weight: 2, fillOpacity: 0.25 },
        pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 7, color: "#1f5fbf" }),
      }).addTo(map));
    }
    if (geoms.then) {
      layers.push(L.geoJSON(geoms.then, {
        style: { color: "#c0392b", weight: 2, dashArray: "6 4", fillOpacity: 0.1 },
        pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 9, color: "#c0392b", dashArray: "3 3" }),
      }).addTo(map));
    }
    const bounds = L.featureGroup(layers).getBounds();
    if (bounds.isValid()) map.fitBounds(bounds.pad(0.2), { maxZoom: 12 });
    else map.setView([35.8, 38.3], 7);
    holder.dataset.cmHistory = "ready";
    holder.dataset.cmLayers = String(layers.length);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
