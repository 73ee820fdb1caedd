import { addDays } from "./dates.js";
import { formatNumber, localName, t } from "./i18n.js";

// Data fetched per date and kept: front lines, and the map state (the zones in force). A date's
// request is made once; play prefetches the next step so the line is usually there when the step
// lands.

export function createPerDateCache(api, path, extra = {}) {
  const cache = new Map();
  function get(date) {
    if (!cache.has(date)) {
      const promise = api.get(path, { date, ...extra }).catch((error) => {
        cache.delete(date);
        throw error;
      });
      cache.set(date, promise);
    }
    return cache.get(date);
  }
  return { get };
}

// The map state of a date (/api/v1/zones?date=): the answer says over which days it stays the
// same ([state_from, state_to), either end null when open), so one answer serves every day of
// that period without another request, and the neighbouring periods are fetched ahead: the day
// the state next changes and the day before it last did. A state is asked for as a difference
// from the one used last (`base`): only the versions that one lacks come whole. At most `keep`
// states are kept (the least recently used go first).
export function createStateCache(api, path, { params = {}, first = null, last = null, keep = 120 } = {}) {
  const states = []; // {day, from, to, collection}, most recently used last
  const pending = new Map(); // date -> promise

  function covering(date) {
    for (let i = states.length - 1; i >= 0; i -= 1) {
      const s = states[i];
      if ((s.from === null || s.from <= date) && (s.to === null || date < s.to)) {
        if (i !== states.length - 1) states.push(states.splice(i, 1)[0]);
        return s;
      }
    }
    return null;
  }

  // The state of `date` if it is here: the page draws it in the same task as the slider step.
  function peek(date) {
    return covering(date)?.collection ?? null;
  }

  function neighbours(entry) {
    const around = [];
    if (entry.to !== null && (last === null || entry.to <= last)) around.push(entry.to);
    if (entry.from !== null) {
      const before = addDays(entry.from, -1);
      if (first === null || before >= first) around.push(before);
    }
    return around;
  }

  const idOf = (feature) => feature.properties.version ?? feature.id;

  // The whole state from a difference to `prior` (a backend that ignores `base` sends it whole).
  function whole(answer, prior) {
    if (!answer.base || !prior) return answer;
    const removed = new Set(answer.removed);
    const contested = new Set(answer.contested);
    const features = [];
    for (const feature of prior.features) {
      const id = idOf(feature);
      if (removed.has(id)) continue;
      const flag = contested.has(id);
      features.push(feature.properties.contested === flag
        ? feature : { ...feature, properties: { ...feature.properties, contested: flag } });
    }
    features.push(...answer.features);
    features.sort((a, b) => idOf(a) - idOf(b));
    return { ...answer, features, count: features.length };
  }

  function get(date, { ahead = true } = {}) {
    const found = covering(date);
    if (found) return Promise.resolve(found.collection);
    if (!pending.has(date)) {
      const prior = states[states.length - 1] || null;
      const query = { date, ...params, base: prior?.day };
      const promise = api.get(path, query).then((answer) => {
        pending.delete(date);
        const collection = whole(answer, prior?.collection);
        // A backend that does not say the period (a static copy) makes the state that day's.
        const from = collection.state_from === undefined ? date : collection.state_from;
        const to = collection.state_to === undefined ? addDays(date, 1) : collection.state_to;
        const entry = { day: date, from, to, collection };
        states.push(entry);
        while (states.length > keep) states.shift();
        if (ahead) for (const day of neighbours(entry)) prefetch(day);
        return collection;
      }, (error) => {
        pending.delete(date);
        throw error;
      });
      pending.set(date, promise);
    }
    return pending.get(date);
  }

  function prefetch(date) {
    if (!covering(date) && !pending.has(date)) get(date, { ahead: false }).catch(() => {});
  }

  // Fetch the periods on either side of the one holding `date` (once it is here).
  function around(date) {
    const entry = covering(date);
    if (entry) for (const day of neighbours(entry)) prefetch(day);
  }

  return { get, peek, prefetch, around, get size() { return states.length; } };
}

export function createFrontLineLayer(map, api, { factions = new Map() } = {}) {
  map.createPane("frontlines").style.zIndex = "430";
  const renderer = L.svg({ pane: "frontlines", padding: 0.5 });
  const cache = createPerDateCache(api, "frontlines");
  const group = L.layerGroup([], { pane: "frontlines" });
  const shown = new Map();
  let wanted = null;

  function layerFor(collection) {
    return L.geoJSON(collection, {
      pane: "frontlines",
      renderer,
      interactive: true,
      style: () => ({ color: "#111", weight: 3, opacity: 0.95, lineCap: "round", dashArray: "6 4" }),
      onEachFeature: (feature, layer) => {
        const sides = (feature.properties.factions || []).map((f) => localName(factions.get(f.slug) || f)).join(" / ");
        const km = feature.properties.length_km;
        const length = km != null ? ` (${t("frontline.length", { km: formatNumber(Math.round(km)) })})` : "";
        // A text node: a string would be innerHTML, and the sides are faction names from the data.
        layer.bindTooltip(document.createTextNode(`${t("frontline.tip", { sides })}${length}`), { sticky: true });
      },
    });
  }

  async function setDate(date) {
    wanted = date;
    const collection = await cache.get(date);
    if (wanted !== date) return;
    group.clearLayers();
    if (!shown.has(date)) shown.set(date, layerFor(collection));
    group.addLayer(shown.get(date));
  }

  return { layer: group, setDate, prefetch: (date) => cache.get(date).catch(() => {}) };
}
