// ISO calendar dates ("YYYY-MM-DD") as plain strings: they sort and compare as text, which keeps
// the per-step filtering cheap. Arithmetic goes through UTC so no time zone shifts a day.

const DAY_MS = 86400000;

export function parseISO(iso) {
  const [y, m, d] = iso.split("-").map(Number);
  return Date.UTC(y, m - 1, d);
}

export function toISO(ms) {
  return new Date(ms).toISOString().slice(0, 10);
}

export function isISODate(value) {
  return typeof value === "string" && /^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(parseISO(value))
    && toISO(parseISO(value)) === value;
}

export function addDays(iso, n) {
  return toISO(parseISO(iso) + n * DAY_MS);
}

export function addMonths(iso, n) {
  const d = new Date(parseISO(iso));
  const day = d.getUTCDate();
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() + n);
  const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  d.setUTCDate(Math.min(day, last));
  return toISO(d.getTime());
}

export function daysBetween(a, b) {
  return Math.round((parseISO(b) - parseISO(a)) / DAY_MS);
}

export function clampDate(iso, first, last) {
  if (iso < first) return first;
  if (iso > last) return last;
  return iso;
}
