// Our own offline base layers, drawn by the public map (js/map/basemap.js) and under the admin's
// map widgets (js/admin/context.js): country outlines with governorates and their names, and
// places by population as the view zooms in. They need no tile server. Where the data comes from,
// the panes, colours and names shown come in as options; what to draw when lives here.
// Names are always set as text, never as HTML: they come from the data.

// Governorate names at low zoom sit on top of their capitals' labels: show them from this zoom.
const GOVERNORATE_LABEL_ZOOM = 8;

const PLACE_MARKER = {
  radius: 2.5,
  color: "#222",
  weight: 1,
  fillColor: "#fff",
  fillOpacity: 1,
  interactive: false,
};

function asContent(label) {
  return typeof label === "string" ? document.createTextNode(label) : label;
}

// options: fetch() -> Promise of a FeatureCollection of regions (properties.level, names);
// pane (outlines), labelPane, style(feature) for L.geoJSON, labelClass, label(properties).
// Returns {layer, load}: load() fetches and draws, resolving to the collection.
export function createRegionLayer(map, options) {
  const group = L.layerGroup();
  const labels = L.layerGroup();
  function toggleLabels() {
    if (map.getZoom() >= GOVERNORATE_LABEL_ZOOM && map.hasLayer(group)) map.addLayer(labels);
    else map.removeLayer(labels);
  }
  group.on("add remove", () => setTimeout(toggleLabels));
  map.on("zoomend", toggleLabels);

  async function load() {
    const collection = await options.fetch();
    group.addLayer(L.geoJSON(collection, { pane: options.pane, interactive: false, style: options.style }));
    for (const feature of collection.features) {
      if (feature.properties.level !== "governorate") continue;
      const center = L.geoJSON(feature).getBounds().getCenter();
      labels.addLayer(L.tooltip({
        pane: options.labelPane,
        permanent: true,
        direction: "center",
        className: options.labelClass,
        interactive: false,
      }).setLatLng(center).setContent(asContent(options.label(feature.properties))));
    }
    toggleLabels();
    return collection;
  }

  return { layer: group, load };
}

// Places in the order they are drawn in, largest first, whatever order a source gives them in
// (sorted once per collection).
const sortedPlaces = new WeakMap();
function byPopulation(collection) {
  if (!sortedPlaces.has(collection)) {
    sortedPlaces.set(collection, (collection.features || []).filter((f) => f.geometry)
      .sort((a, b) => (b.properties.population || 0) - (a.properties.population || 0)));
  }
  return sortedPlaces.get(collection);
}

// options: fetch({zoom, minimum, bounds}) -> Promise of a FeatureCollection of places (it may
// answer from a cache); minimumPopulation(zoom); refreshOn, the map event after which the view is
// drawn again ("zoomend" by default, "moveend" when fetch depends on the bounds); pane (markers
// and labels); marker (circle marker options over PLACE_MARKER); labelled(properties, zoom)
// (every place by default); label(properties) -> text or a node; labelClass; onError(error) for
// the redraws the map's events start (load()'s caller handles its own); onClick(feature) makes
// the markers clickable (pass marker: {interactive: true}); each then carries data-place-id.
// Returns {layer, load}: load() fetches for the current view and draws, resolving to the collection.
export function createPlaceLayer(map, options) {
  const group = L.layerGroup();
  const labelled = options.labelled || (() => true);
  const onError = options.onError || (() => {});
  let generation = 0;

  function draw(places, zoom, minimum) {
    group.clearLayers();
    for (const feature of places) {
      const p = feature.properties;
      if ((p.population || 0) < minimum) continue;
      const [lng, lat] = feature.geometry.coordinates;
      const marker = L.circleMarker([lat, lng], { ...PLACE_MARKER, ...options.marker, pane: options.pane });
      if (labelled(p, zoom)) {
        marker.bindTooltip(asContent(options.label(p)), {
          pane: options.pane,
          permanent: true,
          direction: "right",
          offset: [4, 0],
          className: options.labelClass,
          interactive: false,
        });
      }
      if (options.onClick) {
        marker.on("click", (event) => {
          L.DomEvent.stopPropagation(event);
          options.onClick(feature);
        });
        marker.on("add", () => {
          const element = marker.getElement?.();
          if (element) {
            element.dataset.placeId = String(p.id);
            element.classList.add("place-hit");
          }
        });
      }
      group.addLayer(marker);
    }
  }

  async function load() {
    const zoom = map.getZoom();
    const minimum = options.minimumPopulation(zoom);
    const mine = ++generation;
    const collection = await options.fetch({ zoom, minimum, bounds: map.getBounds() });
    if (mine === generation) draw(byPopulation(collection), zoom, minimum); // else a newer view won
    return collection;
  }

  // A hidden layer is not fetched for nor drawn; shown again, it is drawn for the view of then.
  function refresh() {
    if (map.hasLayer(group)) load().catch(onError);
  }
  map.on(options.refreshOn || "zoomend", refresh);
  group.on("add", () => setTimeout(refresh));

  return { layer: group, load };
}
