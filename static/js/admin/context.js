// Offline context under the admin's map widgets: our own country outlines and governorates
// (/api/v1/regions), places (/api/v1/places) and, on a zone version's page, the other zones in
// force on its first day (on Move the front, the zones in force on the move's date), by faction
// with a legend (/api/v1/zones?date=, drafts included for those who may view them), read-only and
// semi-transparent, so an editor sees where the geometry is without any tile server.
// What to draw comes from the json_script #cm-admin-map-context; nothing is made global.
// The outlines, governorates and places are the public map's layers (js/shared/basemap.js, an ES
// module) with the admin's look; this file stays a plain script, as django-leaflet's plugins load
// them, and imports that module as soon as it runs, so it is there by the time the map is.
(function () {
  "use strict";

  const basemap = import(new URL("../shared/basemap.js", document.currentScript.src).href);
  basemap.catch(() => {}); // reported by the map that needs it, if any
  const CONFIG_ID = "cm-admin-map-context";
  const PANES = { cmOutlines: 250, cmNeighbours: 350, cmPlaces: 450 };
  const POINT_ZOOM = 10;
  const cache = new Map();

  function readConfig() {
    const el = document.getElementById(CONFIG_ID);
    return el ? JSON.parse(el.textContent) : null;
  }

  function getJSON(url) {
    if (!cache.has(url)) {
      cache.set(url, fetch(url, { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
        .then((response) => {
          if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
          return response.json();
        })
        .catch((error) => {
          cache.delete(url);
          throw error;
        }));
    }
    return cache.get(url);
  }

  function withQuery(base, params) {
    const query = new URLSearchParams(params).toString();
    return query ? `${base}?${query}` : base;
  }

  function warn(what) {
    return (error) => console.warn(`conflictmap admin context: ${what} not loaded (${error.message})`);
  }

  // Countries and governorates only: districts, when loaded, would bury the widget in lines.
  function regionLayer(shared, map, url) {
    const regions = shared.createRegionLayer(map, {
      fetch: () => Promise.all(["country", "governorate"].map((level) => getJSON(withQuery(url, { level }))))
        .then(([countries, governorates]) => ({
          type: "FeatureCollection",
          features: [...countries.features, ...governorates.features],
        })),
      pane: "cmOutlines",
      labelPane: "cmPlaces",
      labelClass: "cm-region-label",
      style: (feature) => (feature.properties.level === "country"
        ? { className: "cm-country", color: "#555", weight: 2, fillColor: "#f4f1ea", fillOpacity: 0.7 }
        : { className: "cm-governorate", color: "#777", weight: 1, dashArray: "4 3", fill: false }),
      label: (p) => p.name,
    });
    return { layer: regions.layer, ready: regions.load() };
  }

  // Labels by population as the view zooms in; with mode "points" (events, places) every place
  // in view is a point from zoom 9, so the editor can put an event on one.
  function threshold(zoom, mode) {
    if (zoom < 8) return 100000;
    if (zoom < 9) return 20000;
    return mode === "points" ? 0 : zoom < 10 ? 5000 : 0;
  }

  // Places are asked for by view: the largest ones at low zoom, those in the view from zoom 9.
  function placeLayer(shared, map, url, mode) {
    return shared.createPlaceLayer(map, {
      fetch: ({ zoom, minimum, bounds }) => {
        const params = {};
        if (minimum) params.min_population = String(minimum);
        if (zoom >= 9) {
          const b = bounds.pad(0.25);
          params.bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]
            .map((v) => v.toFixed(2)).join(",");
        }
        return getJSON(withQuery(url, params));
      },
      minimumPopulation: (zoom) => threshold(zoom, mode),
      refreshOn: "moveend",
      pane: "cmPlaces",
      marker: {
        className: "cm-place",
        radius: mode === "points" ? 3 : 2.5,
        fillColor: mode === "points" ? "#ffd54a" : "#fff",
      },
      labelled: (p, zoom) => zoom >= 9 || (p.population || 0) >= 100000,
      label: (p) => p.name,
      labelClass: "cm-place-label",
      onError: warn("places"),
    });
  }

  // The factions of the zones drawn, by colour; shown while the zones are.
  const FactionLegend = L.Control.extend({
    options: { position: "bottomleft" },
    onAdd() {
      this._list = L.DomUtil.create("div", "cm-legend leaflet-bar");
      this.show(this._factions || []);
      return this._list;
    },
    show(factions) {
      this._factions = factions;
      if (!this._list) return;
      this._list.replaceChildren(...factions.map((f) => {
        const row = L.DomUtil.create("div", "cm-legend-row");
        const swatch = L.DomUtil.create("span", "cm-swatch", row);
        swatch.style.background = f.colour;
        row.append(f.name);
        return row;
      }));
      this._list.hidden = factions.length === 0;
    },
  });

  function neighbourLayer(map, url, options) {
    const group = L.layerGroup();
    const exclude = options.version;
    const legend = new FactionLegend();
    group.on("add", () => legend.addTo(map));
    group.on("remove", () => legend.remove());

    let generation = 0;

    function load(date) {
      const mine = ++generation;
      group.clearLayers();
      map.getContainer().dataset.cmNeighbours = "";
      if (!date) return Promise.resolve(0);
      return getJSON(withQuery(url, { date })).then((collection) => {
        if (mine !== generation) return 0; // a later date was asked for meanwhile
        const others = collection.features.filter((f) => f.properties.version !== exclude);
        const factions = new Map(others.map((f) => [f.properties.faction.slug, f.properties.faction]));
        legend.show([...factions.values()].sort((a, b) => a.name.localeCompare(b.name)));
        group.addLayer(L.geoJSON({ type: "FeatureCollection", features: others }, {
          pane: "cmNeighbours",
          interactive: false,
          style: (feature) => {
            const p = feature.properties;
            return {
              className: `cm-neighbour cm-faction-${p.faction.slug}`,
              color: p.faction.colour,
              weight: 1.5,
              opacity: 0.8,
              fillColor: p.faction.colour,
              fillOpacity: 0.25,
              dashArray: p.status !== "published" ? "5 4" : null, // drafts and retracted
            };
          },
          onEachFeature: (feature, layer) => {
            const p = feature.properties;
            layer.bindTooltip(document.createTextNode(p.zone_name), {
              pane: "cmPlaces",
              permanent: true,
              direction: "center",
              className: "cm-zone-label",
              interactive: false,
            });
          },
        }));
        map.getContainer().dataset.cmNeighbours = date;
        return others.length;
      });
    }
    return { layer: group, load };
  }

  function install(map, config) {
    for (const [name, z] of Object.entries(PANES)) {
      if (!map.getPane(name)) map.createPane(name).style.zIndex = String(z);
    }
    map.getPane("cmPlaces").style.pointerEvents = "none";
    const container = map.getContainer();
    container.classList.add("cm-context");

    const waits = [];
    let zones = null;
    const neighbours = config.neighbours;
    if (neighbours) {
      zones = neighbourLayer(map, config.zones, neighbours);
      waits.push(zones.load(neighbours.date).catch(warn("zones")));
      const field = neighbours.dateField && document.getElementById(neighbours.dateField);
      if (field) {
        // The editor moving the start date redraws the neighbours of the new date. Django's
        // calendar sets the value and focuses the field without a change event: blur covers it.
        const follow = () => {
          const value = field.value.trim();
          if (/^\d{4}-\d{2}-\d{2}$/.test(value) && value !== neighbours.date) {
            neighbours.date = value;
            zones.load(value).catch(warn("zones"));
          }
        };
        for (const type of ["change", "input", "blur"]) field.addEventListener(type, follow);
      }
      map.addLayer(zones.layer);
    }
    // A point is framed at zoom 15 or more, where our layers show nothing around it: step back
    // to where the neighbouring places are in view (the widget loads its field after map:init).
    map.on("map:loadfield", () => {
      if (config.placesMode === "points" && map.getZoom() > POINT_ZOOM) map.setZoom(POINT_ZOOM);
    });

    // The base layers once their module is here; then one control for every overlay.
    const base = basemap.then((shared) => {
      const regions = regionLayer(shared, map, config.regions);
      const places = placeLayer(shared, map, config.places, config.placesMode);
      map.addLayer(regions.layer);
      map.addLayer(places.layer);
      return {
        overlays: { "Outlines and governorates": regions.layer, Places: places.layer },
        ready: regions.ready.catch(warn("regions")),
      };
    }).catch((error) => {
      warn("base layers")(error);
      return { overlays: {}, ready: null };
    });
    base.then(({ overlays }) => {
      if (zones) overlays[neighbours.label || "Other zones in force on the start date"] = zones.layer;
      L.control.layers(null, overlays, { collapsed: true, position: "topright" }).addTo(map);
    });
    waits.push(base.then(({ ready }) => ready));
    Promise.all(waits).then(() => { container.dataset.cmContext = "ready"; });
  }

  window.addEventListener("map:init", (event) => {
    const config = readConfig();
    if (config && event.detail && event.detail.map) install(event.detail.map, config);
  });
})();
