// The page state lives in the URL query so that every view is a permalink:
// date, view (lat, lng, z), layers, event filters (type, actor, q, window), step, compare and the
// language when one was chosen explicitly (lang; otherwise the visitor's browser decides).
import { isISODate } from "./dates.js";

export const ALL_LAYERS = ["zones", "frontlines", "events", "regions", "places"];

export function readState(search, defaults) {
  const params = new URLSearchParams(search);
  const state = { ...defaults, layers: new Set(defaults.layers) };
  const date = params.get("date");
  if (isISODate(date)) state.date = date;
  const lat = Number.parseFloat(params.get("lat"));
  const lng = Number.parseFloat(params.get("lng"));
  const zoom = Number.parseFloat(params.get("z"));
  if (Number.isFinite(lat) && Number.isFinite(lng) && Math.abs(lat) <= 90 && Math.abs(lng) <= 180) {
    state.center = [lat, lng];
  }
  if (Number.isFinite(zoom) && zoom >= 0 && zoom <= 20) state.zoom = zoom;
  if (params.has("layers")) {
    state.layers = new Set(params.get("layers").split(",").filter((name) => ALL_LAYERS.includes(name)));
  }
  for (const key of ["type", "actor", "q"]) {
    if (params.has(key)) state[key] = params.get(key);
  }
  const windowDays = Number.parseInt(params.get("window"), 10);
  // Up to a century: a window of all the years is drawn from aggregated tiles (events.js).
  if (Number.isInteger(windowDays) && windowDays >= 1 && windowDays <= 36525) state.window = windowDays;
  if (["day", "week", "month"].includes(params.get("step"))) state.step = params.get("step");
  const compare = params.get("compare");
  if (isISODate(compare)) state.compare = compare;
  if (/^[a-z]{2,3}(-[a-z0-9]+)?$/i.test(params.get("lang") || "")) state.lang = params.get("lang");
  return state;
}

export function writeQuery(state) {
  const params = new URLSearchParams();
  params.set("date", state.date);
  if (state.center) {
    params.set("lat", state.center[0].toFixed(4));
    params.set("lng", state.center[1].toFixed(4));
  }
  if (state.zoom != null) params.set("z", String(state.zoom));
  const layers = ALL_LAYERS.filter((name) => state.layers.has(name));
  if (layers.length !== ALL_LAYERS.length) params.set("layers", layers.join(","));
  for (const key of ["type", "actor", "q"]) {
    if (state[key]) params.set(key, state[key]);
  }
  if (state.window !== 7) params.set("window", String(state.window));
  if (state.step !== "day") params.set("step", state.step);
  if (state.compare) params.set("compare", state.compare);
  if (state.lang) params.set("lang", state.lang);
  return params.toString();
}

export function saveState(state) {
  const query = writeQuery(state);
  const url = `${window.location.pathname}?${query}`;
  if (url !== window.location.pathname + window.location.search) {
    window.history.replaceState(null, "", url);
  }
  return url;
}
