// Building DOM nodes from data without innerHTML, so text from the database is never markup.
import { formatNumber, localName, otherName, t } from "./i18n.js";

export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    // Properties, never a style attribute: the CSP refuses those, and a value from the data (a
    // faction's colour) sets one property and cannot add others.
    else if (key === "style" && typeof value === "string") node.style.cssText = value;
    else if (key === "style") Object.assign(node.style, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// A link only to a web address: a source URL from an import could be `javascript:...`, which
// would run when clicked.
export function isWebAddress(url) {
  try {
    return ["http:", "https:"].includes(new URL(url).protocol);
  } catch {
    return false;
  }
}

export function sourceList(sources) {
  if (!sources || sources.length === 0) return h("p", { class: "small" }, t("sources.none"));
  return h(
    "ul",
    { class: "sources" },
    sources.map((source) =>
      h(
        "li",
        // Titles keep their own direction (an English headline in the Arabic page reads left to right).
        { dir: "auto" },
        isWebAddress(source.url)
          ? h("a", { href: source.url, target: "_blank", rel: "noopener noreferrer", class: "source-link" },
            source.title || source.url)
          : h("span", { class: "source-link" }, source.title || source.url),
        source.publisher ? ` (${source.publisher})` : "",
      ),
    ),
  );
}

export function arabic(text) {
  return text ? h("span", { lang: "ar", dir: "rtl", class: "ar" }, text) : null;
}

// A name from the data in the page's language, followed by its other form (Arabic in English,
// the recorded name in Arabic) isolated in its own direction.
export function names(item, { alt = true } = {}) {
  const other = alt ? otherName(item) : null;
  return [
    localName(item),
    other ? [" ", h("span", { lang: other.lang, dir: other.lang === "ar" ? "rtl" : "ltr", class: `alt ${other.lang === "ar" ? "ar" : "latin"}` }, other.text)] : null,
  ];
}

export function formatKm2(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  return formatNumber(Math.round(value));
}
