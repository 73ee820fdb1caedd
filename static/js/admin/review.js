// The review page (admin/ingest/candidate/review.html): the candidate and the events near it on
// the small map, and the keyboard shortcuts. The map itself is django-leaflet's, started by
// js/shared/leaflet-maps.js; js/admin/context.js draws the outlines, places and the zones in
// force on the candidate's date under it (both on the map:init event). No tiles are needed:
// what is drawn is the content.
// What the page needs comes from the json_script #cm-review-config; text from the server is set
// as text, never as HTML. A plain script, loaded before leaflet-maps.js (it must hear map:init).
(function () {
  "use strict";

  const CONFIG_ID = "cm-review-config";
  const EVENT_PANE = "cmReview";

  function readConfig() {
    const el = document.getElementById(CONFIG_ID);
    return el ? JSON.parse(el.textContent) : null;
  }

  function eventText(p) {
    const type = p.sub_type || p.type;
    const place = p.place ? `, ${p.place}` : "";
    const status = p.status === "published" ? "" : ` (${p.status})`;
    const merge = p.mergeable ? " · click to merge into it" : "";
    return `#${p.id} ${p.date} ${type}${place}${status} — ${p.km} km, ${p.days} day(s)${merge}`;
  }

  // The radio button of the merge form for event `id`, when the candidate may merge into it.
  function mergeChoice(id) {
    return document.getElementById(`cm-merge-${id}`);
  }

  function draw(map, config) {
    if (!map.getPane(EVENT_PANE)) map.createPane(EVENT_PANE).style.zIndex = "620";
    const container = map.getContainer();
    const markers = new Map();

    function showChosen() {
      const checked = document.querySelector("input[name=event]:checked");
      for (const [id, marker] of markers) {
        const el = marker.getElement();
        if (el) el.classList.toggle("cm-review-chosen", Boolean(checked) && checked.value === String(id));
      }
    }

    const events = L.geoJSON(config.events, {
      pointToLayer: (feature, latlng) => {
        const p = feature.properties;
        const classes = ["cm-review-event", `cm-review-event-${p.status}`];
        if (p.mergeable) classes.push("cm-review-mergeable");
        return L.circleMarker(latlng, { pane: EVENT_PANE, radius: 7, className: classes.join(" ") });
      },
      onEachFeature: (feature, layer) => {
        const p = feature.properties;
        markers.set(p.id, layer);
        layer.bindTooltip(document.createTextNode(eventText(p)), { direction: "top" });
        if (p.mergeable) {
          layer.on("click", () => {
            const radio = mergeChoice(p.id);
            if (radio) {
              radio.checked = true;
              showChosen();
            }
          });
        }
      },
    }).addTo(map);
    document.querySelectorAll("input[name=event]").forEach((radio) => {
      radio.addEventListener("change", showChosen);
    });
    showChosen();

    const c = config.candidate;
    if (c) {
      const here = L.latLng(c.lat, c.lon);
      const radius = L.circle(here, {
        radius: config.radiusKm * 1000, className: "cm-review-radius", interactive: false, fill: false,
      }).addTo(map);
      L.circleMarker(here, { pane: EVENT_PANE, radius: 13, className: "cm-review-candidate" })
        .bindTooltip(document.createTextNode(c.label), { direction: "top" })
        .addTo(map);
      L.circleMarker(here, {
        pane: EVENT_PANE, radius: 13, className: "cm-review-candidate-halo", interactive: false,
      }).addTo(map);
      map.fitBounds(radius.getBounds(), { padding: [8, 8] });
    } else if (events.getLayers().length) {
      map.fitBounds(events.getBounds().pad(0.3), { maxZoom: 10 });
    }
    container.dataset.cmReviewEvents = String(events.getLayers().length);
    container.dataset.cmReview = "ready";
  }

  // --- keyboard shortcuts: the page's elements that carry data-cm-key ------------------------

  function typing(target) {
    if (!target || !target.tagName) return false;
    if (target.isContentEditable || target.tagName === "TEXTAREA" || target.tagName === "SELECT") {
      return true;
    }
    return target.tagName === "INPUT" && !["radio", "checkbox", "button", "submit"].includes(target.type);
  }

  let busy = false;

  function onKey(event) {
    if (busy || event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target) || event.key.length !== 1) return;
    const target = document.querySelector(`[data-cm-key="${CSS.escape(event.key.toLowerCase())}"]`);
    if (!target || target.disabled) return;
    event.preventDefault();
    busy = true; // one action per page: the next page comes with the answer
    document.getElementById("cm-review")?.classList.add("cm-review-busy");
    target.click();
  }

  function start() {
    document.addEventListener("keydown", onKey);
    const sentence = document.getElementById("cm-review-sentence");
    const text = document.getElementById("cm-review-text");
    if (sentence && text) {
      // The candidate's sentence in view inside the report's box, without moving the page.
      text.scrollTop = Math.max(0, sentence.offsetTop - text.offsetTop - text.clientHeight / 3);
    }
  }

  // Read when the map starts (at DOMContentLoaded): this script runs in the head, before the
  // body that holds the configuration.
  window.addEventListener("map:init", (event) => {
    const config = readConfig();
    if (config && event.detail && event.detail.map && event.detail.id === "cm-review-map") {
      draw(event.detail.map, config);
    }
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
