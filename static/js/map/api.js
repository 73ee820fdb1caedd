import { t } from "./i18n.js";

// Small client for /api/v1/: URLs with parameters, JSON with errors that name the endpoint.

export function createApi(base) {
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

  return { url, get };
}
