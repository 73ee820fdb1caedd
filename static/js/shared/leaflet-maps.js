// Starts django-leaflet's maps and map widgets without inline scripts, so that the
// Content-Security-Policy can refuse every inline script: django-leaflet writes one per map
// (its {% leaflet_map %} tag and its widget template); our templates write the same options as
// JSON in a data attribute instead (web/templatetags/maps.py, territory/map_widget.html), and
// this file does what those inline scripts did. A plain script, after leaflet.extras.js (and
// leaflet.forms.js for widgets).
(function () {
  "use strict";

  // "L.GeometryField" -> the class, looked up from window (the names django-leaflet configures).
  function resolve(path) {
    return path.split(".").reduce((object, key) => (object ? object[key] : undefined), window);
  }

  // A map widget's field: what django-leaflet's widget template puts in its `geodjango_<id>`.
  function widgetCallback(widget) {
    return function (map, options) {
      const field = {
        fieldid: widget.fieldId,
        modifiable: widget.modifiable,
        geom_type: widget.geomType,
        srid: widget.srid,
        field_store_class: resolve(widget.fieldStoreClass),
        precision: options.djoptions.precision,
      };
      const GeometryField = resolve(widget.geometryFieldClass);
      new GeometryField(field).addTo(map);
    };
  }

  function start(container) {
    const config = JSON.parse(container.dataset.leafletOptions);
    const callback = config.widget ? widgetCallback(config.widget) : null;
    function load() {
      L.Map.djangoMap(container.id, {
        djoptions: config.djoptions,
        initfunc: load,
        globals: false,
        callback: callback,
      });
    }
    // This runs at DOMContentLoaded (or later): an event that has fired already starts it now.
    const passed = (name) =>
      name === "DOMContentLoaded" || (name === "load" && document.readyState === "complete");
    if (config.loadevents.length === 0 || config.loadevents.some(passed)) {
      load();
    } else {
      config.loadevents.forEach((name) => window.addEventListener(name, load, false));
    }
  }

  function startAll() {
    document.querySelectorAll("[data-leaflet-options]").forEach(start);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", startAll);
  } else {
    startAll();
  }
})();
