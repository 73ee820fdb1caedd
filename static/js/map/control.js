// Who held a place when: a click on a place opens its control timeline
// (/api/v1/places/{id}/control: "Government until 29 Nov 2024", "HTS since 30 Nov 2024", with
// sources), and compare mode lists the places that changed hands (/api/v1/control/changes).
// Everything from the data is set as text (h() / textContent), never as HTML.
import { addDays } from "./dates.js";
import { h, names, sourceList } from "./dom.js";
import { formatDate, localName, t, tv } from "./i18n.js";

function sideLabel(side, factions) {
  const known = (f) => factions.get(f.slug) || f;
  if (side.status === "held") return localName(known(side.holder));
  if (side.status === "contested") {
    return t("control.contested", { factions: side.factions.map((f) => localName(known(f))).join(t("list.separator")) });
  }
  return t("control.unknown");
}

// One line per period: the first says "until" (the record starts there, not the holding), the
// open one "since", the others "from ... until ..." (the last day, inclusive).
function periodLine(period, index, factions) {
  const who = sideLabel(period, factions);
  const from = formatDate(period.from);
  if (period.to === null) return t("control.since", { holder: who, from });
  const until = formatDate(addDays(period.to, -1));
  if (index === 0) return t("control.until", { holder: who, until });
  return t("control.fromUntil", { holder: who, from, until });
}

export function renderTimeline(data, { factions = new Map() } = {}) {
  const periods = data.periods || [];
  if (periods.length === 0) return h("p", { class: "small control-none" }, t("control.none"));
  return h(
    "ol",
    { class: "control-timeline" },
    periods.map((period, index) => h(
      "li",
      {
        class: `control-period ${period.status}`,
        dataset: { from: period.from, to: period.to || "", status: period.status, holder: period.holder?.slug || "" },
      },
      period.holder
        ? h("span", { class: "swatch", style: { background: (factions.get(period.holder.slug) || period.holder).colour }, "aria-hidden": "true" })
        : null,
      h("span", { class: "control-line" }, periodLine(period, index, factions)),
      period.confidence ? h("span", { class: "small" }, ` (${tv("confidence", period.confidence)})`) : null,
      sourceList(period.sources),
    )),
  );
}

// The panel of a place: opened by openPlace(feature), closed by its button or Escape.
export function createPlacePanel(api, { factions = new Map() } = {}) {
  const panel = document.getElementById("place-panel");
  const title = document.getElementById("place-title");
  const body = document.getElementById("place-body");
  let wanted = null;

  async function open(feature) {
    const p = feature.properties;
    wanted = p.id;
    panel.dataset.placeId = String(p.id);
    title.replaceChildren(t("control.title", { place: localName(p) }));
    body.replaceChildren(h("p", { class: "small" }, t("control.loading")));
    panel.hidden = false;
    panel.scrollIntoView({ block: "nearest" });
    try {
      const data = await api.get(`places/${encodeURIComponent(p.id)}/control`);
      if (wanted !== p.id) return;
      body.replaceChildren(h("p", { class: "small" }, names(data.place)), renderTimeline(data, { factions }));
      panel.dataset.loaded = String(p.id);
    } catch (error) {
      if (wanted !== p.id) return;
      body.replaceChildren(h("p", { class: "error" }, t("control.error", { error: error.message })));
    }
  }

  function close() {
    wanted = null;
    panel.hidden = true;
  }
  document.getElementById("place-close").addEventListener("click", close);
  panel.addEventListener("keydown", (event) => {
    if (event.key === "Escape") close();
  });
  return { open, close };
}

// Compare mode: the places whose holders differ between two dates.
export function createChangedPlaces(api, { factions = new Map() } = {}) {
  const element = document.getElementById("compare-places");
  let wanted = null;

  async function show(from, to) {
    const key = `${from}/${to}`;
    wanted = key;
    if (from === to) {
      element.replaceChildren();
      return;
    }
    const [a, b] = from < to ? [from, to] : [to, from];
    try {
      const collection = await api.get("control/changes", { from: a, to: b });
      if (wanted !== key) return;
      const features = collection.features || [];
      element.replaceChildren(
        h("h3", {}, t("compare.placesTitle")),
        features.length === 0
          ? h("p", { class: "small" }, t("compare.placesNone"))
          : h("ul", { class: "changed-places" }, features.map((feature) => {
            const p = feature.properties;
            return h(
              "li",
              { dataset: { placeId: String(p.id), before: p.before.holder?.slug || p.before.status, after: p.after.holder?.slug || p.after.status } },
              t("compare.placeChange", {
                place: localName(p),
                before: sideLabel(p.before, factions),
                after: sideLabel(p.after, factions),
              }),
            );
          })),
      );
    } catch (error) {
      if (wanted !== key) return;
      element.replaceChildren(h("p", { class: "error" }, t("control.error", { error: error.message })));
    }
  }

  function hide() {
    wanted = null;
    element.replaceChildren();
  }

  return { show, hide };
}
