// Static mode (publish_static): one page per language. ?lang= picks the page, as on the live site,
// keeping the rest of the permalink. A file, not an inline script: the pages follow the same
// Content-Security-Policy as the live map wherever they are hosted.
(() => {
  const pages = JSON.parse(document.getElementById("map-config").textContent).pages;
  const lang = new URLSearchParams(location.search).get("lang");
  if (lang && pages[lang] && lang !== document.documentElement.lang) {
    location.replace(pages[lang] + location.search + location.hash);
  }
})();
