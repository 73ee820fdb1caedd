// The interface's words in the active language. The server translates them with Django's gettext
// (conflictmap/locale/) and hands them over with json_script "map-i18n": no global catalogue, no
// extra request. Placeholders are Python-style "%(name)s" so that msgfmt checks them in the .po.
// Plural forms come per CLDR category (zero, one, two, few, many, other) and are picked with
// Intl.PluralRules, which knows Arabic's six forms.

const element = document.getElementById("map-i18n");
const data = element ? JSON.parse(element.textContent) : { lang: "en", bidi: false, strings: {}, plurals: {}, values: {} };

export const lang = data.lang || "en";
export const rtl = Boolean(data.bidi);
const isArabic = lang === "ar" || lang.startsWith("ar-");

// The English of this interface is British (colour, km²): dates read "1 Dec 2024".
const locale = lang === "en" ? "en-GB" : lang;
const pluralRules = new Intl.PluralRules(locale);
const numbers = new Intl.NumberFormat(locale, { maximumFractionDigits: 0 });

function fill(template, params) {
  return template.replace(/%\((\w+)\)s/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

// t("key", {name: value}): the translated string with its placeholders filled in.
export function t(key, params = {}) {
  const template = data.strings[key];
  return fill(template === undefined ? key : template, params);
}

// tn("key", n, params): the plural form for n; "%(count)s" is n formatted for the language.
export function tn(key, count, params = {}) {
  const forms = data.plurals[key] || {};
  const template = forms[pluralRules.select(count)] ?? forms.other ?? key;
  return fill(template, { count: formatNumber(count), ...params });
}

// tv("confidence", "claimed"): a value from the data's vocabularies, as itself when unknown.
export function tv(kind, value) {
  if (value === null || value === undefined || value === "") return value;
  return data.values[kind]?.[value] ?? value;
}

export function formatNumber(value) {
  return numbers.format(value);
}

const dateFormats = new Map();
// An ISO calendar day ("YYYY-MM-DD") in the language's own words; always read in UTC so that no
// time zone moves it by a day.
export function formatDate(iso, style = "medium") {
  if (!iso) return iso;
  if (!dateFormats.has(style)) {
    const options = {
      long: { weekday: "short", day: "numeric", month: "short", year: "numeric" },
      medium: { day: "numeric", month: "short", year: "numeric" },
      dayMonth: { day: "numeric", month: "short" },
      monthYear: { month: "short", year: "numeric" },
    }[style];
    dateFormats.set(style, new Intl.DateTimeFormat(locale, { ...options, timeZone: "UTC" }));
  }
  const [y, m, d] = iso.split("-").map(Number);
  return dateFormats.get(style).format(new Date(Date.UTC(y, m - 1, d)));
}

// A name from the data in the page's language: the Arabic form (name_ar) in Arabic when there is
// one, else the name as recorded.
export function localName(item) {
  if (!item) return "";
  return (isArabic && item.name_ar) || item.name || item.slug || "";
}

// The other form of a name, to show beside it (the Arabic form in English, the recorded name in
// Arabic), with the language it is in; null when there is nothing else to show.
export function otherName(item) {
  if (!item) return null;
  if (isArabic) return item.name_ar && item.name && item.name !== item.name_ar ? { text: item.name, lang: "en" } : null;
  return item.name_ar ? { text: item.name_ar, lang: "ar" } : null;
}
