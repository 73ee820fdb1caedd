// "Move the front" (admin): pick the places (search, or click on the map) or draw an area or a
// new front line (Leaflet.draw), preview the ground that changes hands, then commit.
// The map is ours; the offline layers under it (outlines, places, the zones in force on the
// chosen date) come from context.js, which installs them on the map:init event dispatched here.
// What the page needs comes from the json_script #cm-move-config; nothing is made global, and
// text from the server is set as text (never as HTML).
(function () {
  "use strict";

  const $ = (id) => document.getElementById(id);

  function readConfig() {
    const el = $("cm-move-config");
    return el ? JSON.parse(el.textContent) : null;
  }

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function km2(value) {
    return `${Number(value).toLocaleString("en", { maximumFractionDigits: 2 })} km²`;
  }

  function start(config) {
    const form = $("cm-move-form");
    const fields = {
      places: $("id_places"),
      shape: $("id_shape"),
      day: $("id_day"),
    };
    const commit = $("cm-commit");
    const preview = $("cm-preview");
    const result = $("cm-preview-result");
    const container = $("cm-move");

    const map = L.map("cm-move-map", { center: config.center, zoom: 7, minZoom: 5, maxZoom: 16 });
    map.createPane("cmMove").style.zIndex = "460";
    window.dispatchEvent(new CustomEvent("map:init", { detail: { map } }));

    const chosenLayer = L.featureGroup().addTo(map);
    const drawn = L.featureGroup().addTo(map);
    const groundLayer = L.featureGroup().addTo(map);

    // --- the method ---------------------------------------------------------------------
    function method() {
      const checked = form.querySelector("input[name=method]:checked");
      return checked ? checked.value : "places";
    }
    function setMethod(value) {
      const radio = form.querySelector(`input[name=method][value=${value}]`);
      if (radio) radio.checked = true;
      showMethod();
    }
    function showMethod() {
      const m = method();
      for (const row of form.querySelectorAll(".cm-for-places")) row.hidden = m !== "places";
      for (const row of form.querySelectorAll(".cm-for-shape")) row.hidden = m === "places";
      container.dataset.method = m;
    }

    // --- the places -------------------------------------------------------------------------
    const chosen = new Map(); // id -> {id, name, lon, lat}

    function syncPlaces() {
      fields.places.value = [...chosen.keys()].join(",");
      const list = $("cm-place-chosen");
      chosenLayer.clearLayers();
      list.replaceChildren(...[...chosen.values()].map((place) => {
        const item = el("li", null, "cm-chosen");
        item.dataset.place = place.id;
        item.append(el("span", place.name));
        const remove = el("button", "×", "cm-remove");
        remove.type = "button";
        remove.title = `Remove ${place.name}`;
        remove.addEventListener("click", () => drop(place.id));
        item.append(remove);
        // A chosen place clicked on the map leaves the move, as its × does.
        L.circleMarker([place.lat, place.lon], {
          pane: "cmMove", radius: 6, color: "#000", weight: 2, fillColor: "#ffeb3b", fillOpacity: 1,
          className: "cm-chosen-marker",
        }).bindTooltip(document.createTextNode(place.name), { permanent: true, direction: "right" })
          .on("click", (event) => {
            L.DomEvent.stopPropagation(event);
            if (!drawing) drop(place.id);
          })
          .addTo(chosenLayer);
        return item;
      }));
    }

    function drop(id) {
      if (chosen.delete(id)) {
        syncPlaces();
        changed();
      }
    }

    function choose(place) {
      if (!chosen.has(place.id)) {
        chosen.set(place.id, place);
        syncPlaces();
        changed();
      }
      setMethod("places");
    }

    function search(params) {
      const url = `${config.search}?${new URLSearchParams(params)}`;
      return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then((response) => (response.ok ? response.json() : { places: [] }))
        .then((data) => data.places || []);
    }

    let searchTimer = null;
    let searchGeneration = 0;
    $("cm-place-search").addEventListener("input", (event) => {
      const q = event.target.value.trim();
      clearTimeout(searchTimer);
      const mine = ++searchGeneration;
      searchTimer = setTimeout(() => {
        search({ q }).then((places) => {
          if (mine !== searchGeneration) return;
          $("cm-place-results").replaceChildren(...places.map((place) => {
            const item = el("li");
            const pick = el("button", null, "cm-result");
            pick.type = "button";
            pick.dataset.place = place.id;
            const where = [place.region, place.population ? `pop. ${place.population.toLocaleString("en")}` : ""]
              .filter(Boolean).join(", ");
            pick.textContent = where ? `${place.name} (${where})` : place.name;
            pick.addEventListener("click", () => {
              choose(place);
              map.panTo([place.lat, place.lon]);
            });
            item.append(pick);
            return item;
          }));
        });
      }, 200);
    });

    let drawing = false;
    map.on("click", (event) => {
      if (drawing || method() !== "places") return;
      // The nearest place within a few pixels of the click joins the move, or leaves it when
      // it was chosen already.
      const p = map.latLngToContainerPoint(event.latlng);
      const edge = map.containerPointToLatLng(p.add([config.clickPixels, 0]));
      const within = Math.abs(edge.lng - event.latlng.lng);
      search({ near: `${event.latlng.lng},${event.latlng.lat}`, within }).then((places) => {
        if (!places.length) return;
        if (chosen.has(places[0].id)) drop(places[0].id);
        else choose(places[0]);
      });
    });

    // --- the drawn area or line ---------------------------------------------------------------
    const drawControl = new L.Control.Draw({
      position: "topleft",
      draw: {
        polygon: { allowIntersection: false, showArea: false },
        rectangle: { showArea: false },
        polyline: { shapeOptions: { color: "#c00", weight: 4 } },
        circle: false,
        circlemarker: false,
        marker: false,
      },
      edit: { featureGroup: drawn },
    });
    map.addControl(drawControl);
    map.on(L.Draw.Event.DRAWSTART, () => { drawing = true; });
    map.on(L.Draw.Event.DRAWSTOP, () => { setTimeout(() => { drawing = false; }, 0); });

    function syncShape() {
      const layers = drawn.getLayers();
      fields.shape.value = layers.length ? JSON.stringify(layers[0].toGeoJSON().geometry) : "";
      changed();
    }
    map.on(L.Draw.Event.CREATED, (event) => {
      drawn.clearLayers(); // one shape at a time: the new one replaces the last
      drawn.addLayer(event.layer);
      setMethod(event.layerType === "polyline" ? "line" : "area");
      syncShape();
    });
    map.on(L.Draw.Event.EDITED, syncShape);
    map.on(L.Draw.Event.DELETED, syncShape);

    // --- preview and commit ---------------------------------------------------------------------
    function changed() {
      commit.disabled = true;
      if (container.dataset.preview === "ready") container.dataset.preview = "stale";
      result.classList.add("cm-stale");
    }

    function showError(message) {
      groundLayer.clearLayers();
      result.classList.remove("cm-stale");
      result.replaceChildren(el("p", message, "errornote cm-error"));
      container.dataset.preview = "refused";
      commit.disabled = true;
    }

    function showPlan(data) {
      const s = data.summary;
      groundLayer.clearLayers();
      if (data.ground) {
        const ground = L.geoJSON(data.ground, {
          pane: "cmMove",
          style: { color: "#b00020", weight: 2, fillColor: "#ff1744", fillOpacity: 0.35, className: "cm-ground" },
        }).addTo(groundLayer);
        map.fitBounds(ground.getBounds(), { maxZoom: 12, padding: [30, 30] });
      }
      const parts = [];
      parts.push(el("h3", `${km2(s.moved_km2)} ${s.contested ? "contested" : "change hands"}`));
      const table = el("table", null, "cm-losers");
      const head = el("tr");
      for (const title of ["From", "km²", "Zones", "Left empty"]) head.append(el("th", title));
      table.append(head);
      for (const loser of s.from) {
        const row = el("tr");
        row.dataset.faction = loser.faction;
        row.append(el("td", loser.name), el("td", loser.km2.toFixed(2)),
          el("td", loser.zones.join(", ")), el("td", loser.emptied.join(", ") || "—"));
        table.append(row);
      }
      if (s.from.length) parts.push(table);
      if (s.contested_zones.length) parts.push(el("p", `Contested with: ${s.contested_zones.join(", ")}`));
      parts.push(el("p", s.extended.length ? `Extends: ${s.extended.join(", ")}` : ""));
      if (s.new_zone) parts.push(el("p", "Opens a new zone for ground none of the taker's zones touches."));
      const places = el("ul", null, "cm-preview-places");
      for (const place of s.places) {
        places.append(el("li", `${place.name}${place.from.length ? ` (from ${place.from.join(", ")})` : ""}`));
      }
      parts.push(el("h4", `Places inside (${s.places.length})`), places);
      if (s.warnings.length) {
        const warnings = el("ul", null, "cm-warnings");
        for (const w of s.warnings) warnings.append(el("li", w));
        parts.push(warnings);
      }
      result.classList.remove("cm-stale");
      result.replaceChildren(...parts);
      container.dataset.preview = "ready";
      commit.disabled = false;
    }

    preview.addEventListener("click", () => {
      const body = new FormData(form);
      body.append("_preview", "1");
      container.dataset.preview = "loading";
      fetch(form.action || window.location.href, {
        method: "POST",
        body,
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      })
        .then((response) => response.json().catch(() => ({ ok: false, error: `HTTP ${response.status}` })))
        .then((data) => (data.ok ? showPlan(data) : showError(data.error)))
        .catch((error) => showError(`The preview failed: ${error.message}`));
    });

    // What decides the ground asks for a new preview; the source, reason and publish do not.
    const GROUND = new Set(["day", "taker", "method", "radius_km", "contested"]);
    for (const type of ["input", "change"]) {
      form.addEventListener(type, (event) => {
        if (event.target.name === "method") showMethod();
        if (GROUND.has(event.target.name)) changed();
      });
    }

    // --- what the form already holds (prefilled, or sent back with a refusal) ------------------
    for (const place of config.chosen || []) chosen.set(place.id, place);
    syncPlaces();
    if (fields.shape.value) {
      try {
        const layer = L.geoJSON(JSON.parse(fields.shape.value)).getLayers()[0];
        if (layer) {
          drawn.addLayer(layer);
          map.fitBounds(drawn.getBounds(), { maxZoom: 12 });
        }
      } catch (error) {
        fields.shape.value = "";
      }
    } else if (chosen.size) {
      map.fitBounds(chosenLayer.getBounds(), { maxZoom: 11 });
    }
    showMethod();
    container.dataset.ready = "true";
  }

  document.addEventListener("DOMContentLoaded", () => {
    const config = readConfig();
    if (config && window.L) start(config);
  });
})();
