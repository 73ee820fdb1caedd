import { t } from "./i18n.js";
import { readTile } from "./mvt.js";

// Small client for /api/v1/: URLs with parameters, JSON with errors that name the endpoint.
// Every request of the page goes through here. On a static snapshot (manage.py publish_static,
// `snapshot` in the page's configuration) the same requests are answered from its files instead.

export function createApi(base, snapshot = null) {
  if (snapshot) return createSnapshotApi(base, snapshot);

  function url(path, params = {}) {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) {
      if (value !== undefined && value !== null && value !== "") query.set(key, String(value));
    }
    const text = query.toString();
    return `${base}${path}${text ? `?${text}` : ""}`;
  }

  async function get(path, params = {}, { signal } = {}) {
    const target = url(path, params);
    const response = await fetch(target, { signal, headers: { Accept: "application/json" } });
    if (!response.ok) {
      let detail = "";
      try {
        const body = await response.json();
        detail = body.error ? `: ${body.error}` : "";
      } catch {
        // not JSON: keep the status line only
      }
      throw new Error(`${t("api.error", { path, status: response.status })}${detail}`);
    }
    return response.json();
  }

  // The URL template ({z}/{x}/{y}) of vector tiles for a tile layer (Leaflet.VectorGrid fetches
  // them itself). A backend without tiles leaves this out and the page draws markers instead.
  function tileUrl(path, params = {}) {
    return url(path, params);
  }

  return { url, get, tileUrl };
}

// --- the static backend ------------------------------------------------------------------------
// A snapshot holds the map state of every change date (a day on which a zone version starts or
// ends): the state on day D is the file of the latest change date on or before D. Changes are
// kept for pairs of change dates; events are points in a PMTiles archive read by HTTP range
// requests, filtered here as the API filters them (a static host cannot).

function latestOnOrBefore(dates, day) {
  let low = 0;
  let high = dates.length - 1;
  let found = null;
  while (low <= high) {
    const mid = (low + high) >> 1;
    if (dates[mid] <= day) {
      found = dates[mid];
      low = mid + 1;
    } else {
      high = mid - 1;
    }
  }
  return found;
}

function emptyCollection(extra = {}) {
  return { type: "FeatureCollection", ...extra, features: [] };
}

// The archive's bytes for pmtiles: HTTP range requests, as every CDN and object store answers
// them. A host that ignores Range and sends the whole file (python -m http.server does) is read
// once and sliced, where pmtiles' own FetchSource would give up.
function rangeSource(url) {
  let whole = null;
  return {
    getKey: () => url,
    async getBytes(offset, length, signal) {
      if (!whole) {
        const range = `bytes=${offset}-${offset + length - 1}`;
        const response = await fetch(url, { signal, headers: { Range: range } });
        if (response.status === 206) {
          return { data: await response.arrayBuffer(), etag: response.headers.get("ETag") || undefined };
        }
        if (!response.ok) throw new Error(t("api.error", { path: "events", status: response.status }));
        whole ??= response.arrayBuffer();
      }
      return { data: (await whole).slice(offset, offset + length) };
    },
  };
}

function createSnapshotApi(base, snapshot) {
  const dates = snapshot.changeDates;
  let events = null;

  // The zones of a day come generalised for the grid of the zoom asked (full detail without one).
  function zoneFolder(zoom) {
    const grids = snapshot.zoneGrids;
    const z = zoom === undefined || zoom === null || zoom === "" ? Infinity : Number(zoom);
    const [low, high] = grids.find(([, top]) => z <= top) || grids[grids.length - 1];
    return `zones/${low}-${high}`;
  }

  // The file answering a request, or null when the answer is empty by construction. (A zones
  // request's `base`, a day the client has, is ignored: the answer comes whole, as it may.)
  function file(path, params = {}) {
    if ((path === "zones" || path === "frontlines") && params.date) {
      const day = latestOnOrBefore(dates, String(params.date));
      if (!day) return null;
      return `${path === "zones" ? zoneFolder(params.zoom) : path}/${day}.geojson`;
    }
    if (path === "changes" || path === "control/changes") {
      const a = latestOnOrBefore(dates, String(params.from));
      const b = latestOnOrBefore(dates, String(params.to));
      const folder = path === "changes" ? "changes" : "control-changes";
      return a && b && a !== b ? `${folder}/${a}_${b}.geojson` : null;
    }
    const place = /^places\/(\d+)\/control$/.exec(path);
    if (place) return `places/${place[1]}/control.json`;
    return snapshot.files[path] ?? `${path}.missing`;
  }

  function url(path, params = {}) {
    const name = file(path, params);
    return name ? `${base}${name}` : "";
  }

  async function fetchJSON(path, name, signal) {
    const response = await fetch(`${base}${name}`, { signal, headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(t("api.error", { path, status: response.status }));
    return response.json();
  }

  // Every event of the snapshot, once: the detail tiles of the data's box, their points' GeoJSON
  // Features (the API's own bytes) parsed and kept in id order.
  function allEvents() {
    events ??= (async () => {
      const archive = new globalThis.pmtiles.PMTiles(rangeSource(`${base}${snapshot.events.archive}`));
      const z = snapshot.events.zoom;
      const tiles = await Promise.all(snapshot.events.tiles.map(async ([x, y]) => {
        const tile = await archive.getZxy(z, x, y);
        return tile ? readTile(tile.data, { z, x, y }).events || [] : [];
      }));
      const byId = new Map();
      for (const feature of tiles.flat()) {
        if (!byId.has(feature.properties.id)) byId.set(feature.properties.id, JSON.parse(feature.properties.feature));
      }
      return [...byId.values()].sort((a, b) => a.properties.id - b.properties.id);
    })();
    events.catch(() => { events = null; });
    return events;
  }

  // The API's event filters (conflictmap.events.queries.EventFilter): window [start, end] both
  // inclusive, any of the types, any of the actors (faction slugs), text in the summary or the
  // place name, case-insensitive.
  function eventFilter(params) {
    const list = (value) => String(value ?? "").split(",").map((v) => v.trim()).filter(Boolean);
    const types = new Set(list(params.type));
    const actors = new Set(list(params.actor));
    const q = String(params.q ?? "").toLowerCase();
    return (feature) => {
      const p = feature.properties;
      if (params.start && p.date < params.start) return false;
      if (params.end && p.date > params.end) return false;
      if (types.size && !types.has(p.type)) return false;
      if (actors.size && !(p.actors || []).some((a) => actors.has(a.slug))) return false;
      const found = (text) => (text ?? "").toLowerCase().includes(q);
      return !q || found(p.summary) || found(p.location_name);
    };
  }

  async function get(path, params = {}, { signal } = {}) {
    if (path === "events") {
      const keep = eventFilter(params);
      return { type: "FeatureCollection", features: (await allEvents()).filter(keep) };
    }
    const name = file(path, params);
    if (name === null) {
      if (path === "changes") return emptyCollection({ from: params.from, to: params.to, summary: [] });
      if (path === "control/changes") return emptyCollection({ from: params.from, to: params.to });
      // Before the first change date: nothing in force, until that date.
      return emptyCollection({ date: params.date, state_from: null, state_to: dates[0] ?? null });
    }
    return fetchJSON(path, name, signal);
  }

  return { url, get };
}
