// Glue: reads the server's configuration (json_script "map-config") and the URL state, waits for
// django-leaflet's map:init, wires the modules together and keeps the URL a permalink.
import { createApi } from "./api.js";
import { createPlaceLayer, createRegionLayer } from "./basemap.js";
import { createChart } from "./charts.js";
import { createCompareLayer } from "./compare.js";
import { createChangedPlaces, createPlacePanel } from "./control.js";
import { addDays, addMonths, clampDate, parseISO } from "./dates.js";
import { h } from "./dom.js";
import { createEventLayer, placeName, renderEventPanel, shapeSvg } from "./events.js";
import { formatDate, formatNumber, localName, t, tn, tv } from "./i18n.js";
import { createLegend } from "./legend.js";
import { createFrontLineLayer, createStateCache } from "./perdate.js";
import { createTimeSlider } from "./timeslider.js";
import { ALL_LAYERS, readState, saveState, writeQuery } from "./urlstate.js";
import { createZoneLayer } from "./zones.js";

const DAY_MS = 86400000;
const config = JSON.parse(document.getElementById("map-config").textContent);
const api = createApi(config.api, config.snapshot);
const factions = new Map(config.factions.map((faction) => [faction.slug, faction]));
const { first_date: first, last_date: last } = config.extent;
// The charts' steps come with the configuration (web/mapdata.py chart_steps says why).
const { area: chartStep, events: eventStep } = config.steps;

// The area series is asked for once the zones are drawn (or have failed): over a long period it
// is the slowest answer, and with few server workers it would hold the zones up. The events'
// series leaves at once: the database keeps day counts (tens of ms over every year), and it
// decides whether the window's events come as markers or tiles (estimateEvents).
let releaseCharts;
const chartsMayStart = new Promise((resolve) => { releaseCharts = resolve; });
const areaRequest = chartsMayStart.then(() => api.get("stats/area", { from: first, to: last, step: chartStep }));
const eventStatsRequest = api.get("stats/events", { from: first, to: last, step: eventStep, by: "type" });
for (const request of [areaRequest, eventStatsRequest]) request.catch(() => {});

const state = readState(window.location.search, {
  date: last,
  center: null,
  zoom: null,
  layers: ALL_LAYERS,
  type: "",
  actor: "",
  q: "",
  window: 7,
  step: "day",
  compare: "",
  lang: "",
});
state.date = clampDate(state.date, first, last);

// --- Zones: the map state of each date, generalised for the zoom ---------------------------------
// One cache of states per grid: the server says which zooms share the grid of an answer
// (grid_zooms), and those zooms ask for it under one URL afterwards.
const grids = []; // {low, high, states}
const provisional = new Map(); // zoom -> states, until an answer tells its grid
function zoneStates(zoom) {
  const grid = grids.find((g) => g.low <= zoom && zoom <= g.high);
  if (grid) return grid.states;
  if (!provisional.has(zoom)) {
    const states = createStateCache(api, "zones", { params: { zoom }, first, last });
    states.learn = (collection) => {
      const [low, high] = collection.grid_zooms || [zoom, zoom];
      if (!grids.some((g) => g.states === states)) grids.push({ low, high, states });
      provisional.delete(zoom);
    };
    provisional.set(zoom, states);
  }
  return provisional.get(zoom);
}

// The zoom the map will open at (the permalink's, or the one fitting the data's box into the map
// element, as Leaflet's fitBounds with 10 px of padding finds it): the zones of the date are
// asked for now, while Leaflet and the page are still loading.
function openingZoom() {
  if (state.center && state.zoom !== null) return state.zoom;
  const box = config.extent.bbox;
  const el = document.getElementById("map");
  if (!box || !el) return config.defaultZoom;
  const x = (lng) => ((lng + 180) / 360) * 256;
  const y = (lat) => {
    const s = Math.sin((lat * Math.PI) / 180);
    return (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * 256;
  };
  const scale = Math.min((el.clientWidth - 20) / (x(box[2]) - x(box[0])), (el.clientHeight - 20) / (y(box[1]) - y(box[3])));
  return Number.isFinite(scale) && scale > 0 ? Math.floor(Math.log2(scale)) : config.defaultZoom;
}
const earlyZones = zoneStates(openingZoom());
earlyZones.get(state.date).then((collection) => earlyZones.learn(collection), () => {});

const statusLine = document.getElementById("status");
const problems = new Map();
function report(topic, error) {
  if (error) problems.set(topic, t("status.problem", { topic, error: error.message }));
  else problems.delete(topic);
  statusLine.textContent = [...problems.values()].join(" · ");
  statusLine.classList.toggle("error", problems.size > 0);
}

let saveTimer = null;
function persist() {
  clearTimeout(saveTimer);
  saveTimer = setTimeout(() => {
    const url = saveState(state);
    document.getElementById("permalink").href = url;
  }, 120);
}

// About how many events a window holds, from the events chart's series (whole steps, and the
// share of the days of a step the window covers): it decides markers or tiles (events.js).
function estimateEvents(params) {
  return eventStatsRequest.then((stats) => {
    const from = parseISO(params.start);
    const to = parseISO(params.end) + DAY_MS;
    let total = 0;
    stats.steps.forEach((step, i) => {
      const a = parseISO(step);
      const b = i + 1 < stats.steps.length ? parseISO(stats.steps[i + 1]) : parseISO(last) + DAY_MS;
      const overlap = Math.min(b, to) - Math.max(a, from);
      if (overlap <= 0 || b <= a) return;
      for (const series of stats.series) {
        if (!params.type || series.key === params.type) total += (series.counts[i] * overlap) / (b - a);
      }
    });
    return total;
  }, () => 0);
}

function start(map) {
  const container = map.getContainer();
  container.setAttribute("aria-label", t("map.label"));
  map.createPane("regions").style.zIndex = "405";
  map.createPane("labels").style.zIndex = "640";
  map.getPane("labels").style.pointerEvents = "none";
  const box = config.extent.bbox;
  if (!state.center && box) {
    map.fitBounds([[box[1], box[0]], [box[3], box[2]]], { animate: false, padding: [10, 10] });
  } else {
    map.setView(state.center || config.defaultCenter, state.zoom ?? config.defaultZoom, { animate: false });
  }

  const zones = createZoneLayer(map, { factions });
  const frontlines = createFrontLineLayer(map, api, { factions });
  const compare = createCompareLayer(map, api, { factions });
  const regions = createRegionLayer(map, api);
  const placePanel = createPlacePanel(api, { factions });
  const places = createPlaceLayer(map, api, { onClick: (feature) => placePanel.open(feature) });
  const changedPlaces = createChangedPlaces(api, { factions });
  const legend = createLegend({ factions });
  const charts = [];
  const panel = document.getElementById("event-panel");
  const events = createEventLayer(map, api, {
    eventTypes: config.eventTypes,
    onSelect: showEvent,
    onLoaded: listEvents,
    estimate: estimateEvents,
    markersAfter: chartsMayStart,
  });

  const layers = { zones: zones.layer, frontlines: frontlines.layer, events: events.layer, regions: regions.layer, places: places.layer };
  function applyLayers() {
    for (const [name, layer] of Object.entries(layers)) {
      if (state.layers.has(name)) map.addLayer(layer);
      else map.removeLayer(layer);
    }
    for (const box of document.querySelectorAll('#layers input[name="layer"]')) box.checked = state.layers.has(box.value);
  }

  // --- Events: filters, legend, panel ------------------------------------------------------
  const typeSelect = document.getElementById("filter-type");
  const actorSelect = document.getElementById("filter-actor");
  const query = document.getElementById("filter-q");
  const windowSelect = document.getElementById("window");
  for (const type of config.eventTypes) typeSelect.append(h("option", { value: type.value }, type.label));
  for (const faction of config.factions) actorSelect.append(h("option", { value: faction.slug }, localName(faction)));
  if (![...windowSelect.options].some((o) => Number(o.value) === state.window)) {
    windowSelect.append(h("option", { value: String(state.window) }, tn("days", state.window, { days: formatNumber(state.window) })));
  }
  typeSelect.value = state.type;
  actorSelect.value = state.actor;
  query.value = state.q;
  windowSelect.value = String(state.window);

  const eventLegend = document.getElementById("event-legend");
  const legendItems = new Map();
  for (const type of config.eventTypes) {
    const count = h("span", { class: "count" });
    const item = h("li", { dataset: { type: type.value } }, h("span", { class: "shape" }), " ", type.label, " ", count);
    item.firstChild.innerHTML = shapeSvg(type);
    legendItems.set(type.value, count);
    eventLegend.append(item);
  }

  function eventWindow() {
    // From the first day of the data at the earliest: a window of all the years is then the
    // whole of it (which the tiles serve from their pyramid).
    return { start: clampDate(addDays(state.date, 1 - state.window), first, state.date), end: state.date };
  }

  function eventParams() {
    const { start: from, end } = eventWindow();
    return { start: from, end, type: state.type, actor: state.actor, q: state.q };
  }

  // The events of the window, or (drawn from tiles) its latest ones with the window's counts.
  function listEvents(features, summary = null) {
    let counts = summary?.byType;
    if (!counts) {
      counts = new Map();
      for (const feature of features) counts.set(feature.properties.type, (counts.get(feature.properties.type) || 0) + 1);
    }
    for (const [type, node] of legendItems) node.textContent = counts.get(type) ? `(${counts.get(type)})` : "";
    const { start: from, end } = eventWindow();
    const total = summary ? summary.total : features.length;
    const shown = Math.min(features.length, 25);
    container.dataset.eventsMode = events.mode;
    document.getElementById("event-count").textContent =
      tn("events.count", total, { start: formatDate(from), end: formatDate(end) })
      + (total > shown ? ` ${t("events.latest", { shown: formatNumber(shown) })}` : "");
    const latest = [...features].sort((a, b) => (a.properties.date < b.properties.date ? 1 : -1)).slice(0, shown);
    document.getElementById("event-list").replaceChildren(...latest.map((feature) => {
      const p = feature.properties;
      const where = placeName(p);
      const button = h("button", { type: "button", class: "link-button", dataset: { eventId: String(p.id) } },
        `${p.date} · ${tv("subType", p.sub_type) || tv("eventType", p.type)}${where ? ` · ${where}` : ""}`);
      button.addEventListener("click", () => {
        showEvent(feature);
        if (feature.geometry) {
          const [lng, lat] = feature.geometry.coordinates;
          map.setView([lat, lng], Math.max(map.getZoom(), 10));
        }
      });
      return h("li", {}, button);
    }));
  }

  function showEvent(feature) {
    document.getElementById("event-title").textContent = tv("eventType", feature.properties.type) || t("event.title");
    document.getElementById("event-body").replaceChildren(renderEventPanel(feature, { factions }));
    panel.hidden = false;
    panel.scrollIntoView({ block: "nearest" });
    document.getElementById("event-close").focus({ preventScroll: true });
  }
  document.getElementById("event-close").addEventListener("click", () => { panel.hidden = true; });
  panel.addEventListener("keydown", (event) => {
    if (event.key === "Escape") panel.hidden = true;
  });

  let eventsTimer = null;
  function refreshEvents(delay = 0) {
    clearTimeout(eventsTimer);
    eventsTimer = setTimeout(() => {
      if (!state.layers.has("events")) return;
      events.update(eventParams()).then(() => report(t("topic.events")), (error) => report(t("topic.events"), error));
    }, delay);
  }

  document.getElementById("event-filters").addEventListener("submit", (event) => event.preventDefault());
  typeSelect.addEventListener("change", () => { state.type = typeSelect.value; afterChange(); refreshEvents(); });
  actorSelect.addEventListener("change", () => { state.actor = actorSelect.value; afterChange(); refreshEvents(); });
  windowSelect.addEventListener("change", () => { state.window = Number(windowSelect.value); afterChange(); refreshEvents(); });
  query.addEventListener("input", () => { state.q = query.value.trim(); afterChange(); refreshEvents(300); });

  // --- Compare -------------------------------------------------------------------------------
  const compareOn = document.getElementById("compare-on");
  const compareFrom = document.getElementById("compare-from");
  compareFrom.min = first;
  compareFrom.max = last;
  compareFrom.value = state.compare || first;
  compareOn.checked = Boolean(state.compare);
  function refreshCompare() {
    if (state.compare) {
      map.addLayer(compare.layer);
      compare.show(state.compare, state.date);
      changedPlaces.show(state.compare, state.date);
    } else {
      compare.hide();
      changedPlaces.hide();
      map.removeLayer(compare.layer);
    }
  }
  compareOn.addEventListener("change", () => {
    state.compare = compareOn.checked ? clampDate(compareFrom.value || first, first, last) : "";
    afterChange();
    refreshCompare();
  });
  compareFrom.addEventListener("change", () => {
    if (!compareFrom.value) return;
    compareFrom.value = clampDate(compareFrom.value, first, last);
    if (compareOn.checked) {
      state.compare = compareFrom.value;
      afterChange();
      refreshCompare();
    }
  });

  // --- Export links --------------------------------------------------------------------------
  // The view's box; none when it is larger than the API answers for (config.maxBboxDeg2): such
  // a view holds far more than the data's region, so the export asks for everything.
  function bbox() {
    const b = map.getBounds();
    const [w, s, e, n] = [Math.max(-180, b.getWest()), Math.max(-90, b.getSouth()), Math.min(180, b.getEast()), Math.min(90, b.getNorth())];
    if (config.maxBboxDeg2 && (e - w) * (n - s) > config.maxBboxDeg2) return undefined;
    return [w, s, e, n].map((v) => v.toFixed(4)).join(",");
  }
  function refreshExports() {
    const box = bbox();
    document.getElementById("export-zones").href = api.url("zones", { date: state.date, bbox: box, download: 1 });
    document.getElementById("export-events-geojson").href = api.url("events", { ...eventParams(), bbox: box, download: 1 });
    document.getElementById("export-events-csv").href = api.url("events", { ...eventParams(), bbox: box, format: "csv", download: 1 });
    document.getElementById("permalink").href = `${window.location.pathname}?${writeQuery(state)}`;
    // The language links keep the whole view: switching language changes nothing else.
    for (const link of document.querySelectorAll("#lang-switch a[data-lang]")) {
      link.href = `${window.location.pathname}?${writeQuery({ ...state, lang: link.dataset.lang })}`;
    }
  }

  function afterChange() {
    refreshExports();
    persist();
  }

  // --- Per-date layers -----------------------------------------------------------------------
  function refreshPerDate(date) {
    if (state.layers.has("frontlines")) {
      frontlines.setDate(date).then(() => report(t("topic.frontlines")), (error) => report(t("topic.frontlines"), error));
    }
  }

  let zonesDrawn = false;
  function paintZones(date, collection, stepStart, waited) {
    const started = performance.now();
    container.dataset.pathsChanged = String(zones.show(date, collection));
    legend.render(date, zones.visible());
    for (const chart of charts) chart.mark(date);
    container.dataset.drawnDate = date;
    container.dataset.zoneVersions = String(zones.count);
    if (!zonesDrawn) {
      zonesDrawn = true;
      const drawn = performance.now();
      performance.measure("zones-drawn", { start: 0, end: drawn });
      container.dataset.zonesMs = drawn.toFixed(1);
      releaseCharts();
    }
    if (stepStart !== null) {
      // The redraw's own work, and the time from the step to the frame that shows it (with the
      // wait for the state when it was not here yet).
      const measure = performance.measure("step-redraw", {
        start: waited ? started : stepStart,
        end: performance.now(),
        detail: { date, waited, pathsChanged: Number(container.dataset.pathsChanged) },
      });
      container.dataset.stepMs = measure.duration.toFixed(2);
      requestAnimationFrame(() => performance.measure("step-paint", { start: stepStart, detail: { date, waited } }));
    }
    report(t("topic.zones"));
  }

  // Draws the zones of `date`: in this task when its state is here, else when it arrives (unless
  // the slider or the zoom moved on meanwhile).
  const currentStates = () => zoneStates(Math.round(map.getZoom()));
  function drawZones(date, stepStart = null) {
    const states = currentStates();
    const here = states.peek(date);
    if (here) {
      paintZones(date, here, stepStart, false);
      states.around(date);
      return;
    }
    states.get(date).then((collection) => {
      states.learn?.(collection);
      if (state.date !== date || currentStates() !== states) return;
      paintZones(date, collection, stepStart, true);
      states.around(date);
    }, (error) => {
      releaseCharts();
      report(t("topic.zones"), error);
    });
  }

  let zoneGrid = null;
  map.on("zoomend", () => {
    const states = currentStates();
    if (states !== zoneGrid) {
      zoneGrid = states;
      drawZones(state.date);
    }
  });

  const slider = createTimeSlider({
    first,
    last,
    date: state.date,
    step: state.step,
    onChange(date, source) {
      const stepStart = performance.now();
      const previous = state.date;
      state.date = date;
      drawZones(date, stepStart);
      refreshPerDate(date);
      // The next steps the same way are likely next: their states are fetched now (three, so
      // that steps faster than the server answers still find theirs here).
      const back = date < previous ? -1 : 1;
      let next = date;
      for (let ahead = 1; ahead <= 3; ahead += 1) {
        next = slider.step === "month" ? addMonths(next, back) : addDays(next, back * (slider.step === "week" ? 7 : 1));
        if (next > last || next < first) break;
        currentStates().prefetch(next);
        if (ahead === 1 && source === "play" && state.layers.has("frontlines")) frontlines.prefetch(next);
      }
      // Steps in a row rebuild the events once they pause (400 ms): a week of events at a
      // million is ~1 MB and a thousand markers, main-thread and server work that would otherwise
      // hold up the next step's zones.
      refreshEvents(source === "chart" ? 0 : 400);
      if (state.compare) {
        compare.show(state.compare, date);
        changedPlaces.show(state.compare, date);
      }
      afterChange();
    },
    onStepChange(step) {
      state.step = step;
      afterChange();
    },
  });

  for (const box of document.querySelectorAll('#layers input[name="layer"]')) {
    box.addEventListener("change", () => {
      if (box.checked) state.layers.add(box.value);
      else state.layers.delete(box.value);
      applyLayers();
      if (box.checked && box.value === "events") refreshEvents();
      if (box.checked && (box.value === "frontlines" || box.value === "zones")) refreshPerDate(state.date);
      afterChange();
    });
  }

  map.on("moveend", () => {
    const center = map.getCenter();
    state.center = [center.lat, center.lng];
    state.zoom = map.getZoom();
    afterChange();
  });

  if (!config.tileUrl) {
    container.classList.add("no-base-tiles");
    container.title = t("map.noTiles");
  }
  applyLayers();
  refreshExports();
  regions.load().then(() => report(t("topic.regions")), (error) => report(t("topic.regions"), error));
  places.load().then(() => report(t("topic.places")), (error) => report(t("topic.places"), error));

  zoneGrid = currentStates();
  drawZones(state.date);
  refreshPerDate(state.date);
  refreshEvents();
  refreshCompare();

  areaRequest.then((area) => {
    legend.setArea(area);
    legend.render(state.date, zones.visible());
    const chart = createChart(document.getElementById("chart-area"), {
      steps: area.steps,
      series: area.series.map((s) => ({ label: localName(factions.get(s.faction.slug) || s.faction), colour: s.faction.colour, values: s.km2 })),
      onPick: (date) => slider.set(date, "chart"),
    });
    chart.mark(state.date);
    charts.push(chart);
  }, (error) => report(t("topic.areaChart"), error));

  const eventsChartTitle = t(eventStep === "week" ? "chart.eventsPerWeek" : "chart.eventsPerMonth");
  document.getElementById("chart-events-title").textContent = eventsChartTitle;
  document.getElementById("chart-events").setAttribute("aria-label", eventsChartTitle);
  eventStatsRequest.then((stats) => {
    const types = new Map(config.eventTypes.map((type) => [type.value, type]));
    const chart = createChart(document.getElementById("chart-events"), {
      steps: stats.steps,
      series: stats.series.map((s) => ({ label: types.get(s.key)?.label || s.label || s.key, colour: types.get(s.key)?.colour || "#666", values: s.counts })),
      bars: false,
      onPick: (date) => slider.set(date, "chart"),
    });
    chart.mark(state.date);
    charts.push(chart);
  }, (error) => report(t("topic.eventsChart"), error));

  persist();
}

window.addEventListener("map:init", (event) => start(event.detail.map), { once: true });
