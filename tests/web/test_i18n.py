"""The map page in English and Arabic: language choice, the translations and right-to-left layout."""

from __future__ import annotations

import gettext
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import polib
import pytest
from django.conf import settings

from conflictmap.events.models import SUB_EVENT_TYPES, EventType
from conflictmap.territory.models import Confidence, Faction
from tests.conftest import wait_until

from .conftest import ALEPPO

PO = Path(settings.BASE_DIR) / "conflictmap" / "locale" / "ar" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")

# Words that stay as they are in Arabic: the project's name, formats, key names and the name of
# the other language in the language switcher.
LATIN_ALLOWED = {"conflictmap", "GeoJSON", "CSV", "Home", "End", "English", "MAP_TILE_URL"}


# Latin words a visitor sees outside the map and outside the data's own Latin names, summaries
# and source titles: text nodes and the attributes that carry words.
VISIBLE_LATIN_WORDS = """() => {
  const skip = '.leaflet-container, script, style, body [lang="en"], .latin, .summary, .sources';
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const words = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.parentElement.closest(skip) || !node.parentElement.checkVisibility()) continue;
    words.push(...(node.textContent.match(/[A-Za-z_]{2,}/g) || []));
  }
  for (const el of document.querySelectorAll('[aria-label], [title], [placeholder]')) {
    if (el.closest(skip)) continue;
    for (const name of ['aria-label', 'title', 'placeholder']) {
      words.push(...((el.getAttribute(name) || '').match(/[A-Za-z_]{2,}/g) || []));
    }
  }
  return words;
}
"""


def script_json(html: str, element_id: str) -> dict:
    start_tag = f'<script id="{element_id}" type="application/json">'
    start = html.index(start_tag) + len(start_tag)
    return json.loads(html[start : html.index("</script>", start)])


class VisibleText(HTMLParser):
    """Text a visitor reads or hears: text nodes outside scripts and styles, and the attributes
    that carry words (aria-label, placeholder, title, alt)."""

    def __init__(self) -> None:
        super().__init__()
        self.chunks: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        attributes = dict(attrs)
        for name in ("aria-label", "placeholder", "title", "alt"):
            if attributes.get(name):
                self.chunks.append(attributes[name])

    def handle_endtag(self, tag) -> None:
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data) -> None:
        if not self._skip and data.strip():
            self.chunks.append(data.strip())


def in_browser(test):
    """A test that drives Chromium against the live server, whose database it must be able to
    flush (hence a transactional one)."""
    return pytest.mark.browser(pytest.mark.django_db(transaction=True)(test))


def finish(map_page, screenshot: str) -> None:
    """The last look at a page: a screenshot, then no error logged by the page all along."""
    map_page.screenshot(screenshot)
    assert map_page.errors == []


def latin_words(html: str) -> set[str]:
    body = html[html.index("<body") :]
    parser = VisibleText()
    parser.feed(body)
    # The language switcher names each language in itself.
    return {
        word
        for chunk in parser.chunks
        for word in re.findall(r"[A-Za-z_]{2,}", chunk)
        if word not in LATIN_ALLOWED
    }


@pytest.mark.django_db
def test_an_arabic_browser_gets_the_page_in_arabic_right_to_left(client):
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="ar-SY,ar;q=0.9,en;q=0.5")
    html = response.content.decode()
    assert '<html lang="ar" dir="rtl">' in html
    assert response.headers["Content-Language"] == "ar"
    assert "Accept-Language" in response.headers["Vary"]
    assert "الطبقات" in html  # Layers
    assert "بيانات تجريبية." in html  # Demo data.
    i18n = script_json(html, "map-i18n")
    assert i18n["lang"] == "ar" and i18n["bidi"] is True
    assert i18n["strings"]["slider.play"] == "تشغيل"


@pytest.mark.django_db
def test_english_is_the_default_and_left_to_right(client):
    html = client.get("/").content.decode()
    assert '<html lang="en" dir="ltr">' in html
    assert ">Layers</h2>" in html
    i18n = script_json(html, "map-i18n")
    assert i18n["lang"] == "en" and i18n["bidi"] is False
    assert i18n["strings"]["slider.play"] == "Play"


@pytest.mark.django_db
def test_lang_in_the_query_wins_over_the_browser_and_unknown_languages_are_ignored(client):
    html = client.get("/?lang=en", HTTP_ACCEPT_LANGUAGE="ar").content.decode()
    assert '<html lang="en" dir="ltr">' in html
    html = client.get("/?lang=ar").content.decode()
    assert '<html lang="ar" dir="rtl">' in html
    html = client.get("/?lang=xx", HTTP_ACCEPT_LANGUAGE="ar").content.decode()
    assert '<html lang="ar" dir="rtl">' in html


@pytest.mark.django_db
def test_the_language_switcher_names_each_language_in_itself_and_marks_the_current_one(client):
    html = client.get("/?lang=ar").content.decode()
    assert re.search(r'<a href="\?lang=ar"[^>]*aria-current="true">العربيّ?ة</a>', html)
    assert re.search(r'<a href="\?lang=en"[^>]*>English</a>', html)


@pytest.mark.django_db
def test_no_english_is_left_in_the_arabic_page(client):
    html = client.get("/?lang=ar").content.decode()
    assert latin_words(html) == set()


@pytest.mark.django_db
def test_the_english_page_shows_english_words_so_the_check_above_can_fail(client):
    html = client.get("/?lang=en").content.decode()
    assert {"Layers", "Compare", "Export"} <= latin_words(html)


@pytest.mark.django_db
def test_the_arabic_page_hands_translated_vocabularies_and_faction_names_to_the_scripts(
    client, make_faction
):
    make_faction(slug="hts", name="Hayat Tahrir al-Sham", name_ar="هيئة تحرير الشام")
    html = client.get("/?lang=ar").content.decode()
    config = script_json(html, "map-config")
    i18n = script_json(html, "map-i18n")
    hts = next(f for f in config["factions"] if f["slug"] == "hts")
    assert hts["name_ar"] == "هيئة تحرير الشام"
    battles = next(t for t in config["eventTypes"] if t["value"] == EventType.BATTLES)
    assert battles["label"] == "معارك"
    values = i18n["values"]
    assert set(values["eventType"]) == set(EventType.values)
    assert set(values["subType"]) == {s for subs in SUB_EVENT_TYPES.values() for s in subs}
    assert set(values["confidence"]) == set(Confidence.values)
    for kind, labels in values.items():
        untranslated = {v for v, label in labels.items() if label == v and kind != "role"}
        assert untranslated == set(), kind


@pytest.mark.django_db
def test_plural_forms_follow_each_languages_categories(client):
    ar = script_json(client.get("/?lang=ar").content.decode(), "map-i18n")["plurals"]["days"]
    en = script_json(client.get("/?lang=en").content.decode(), "map-i18n")["plurals"]["days"]
    assert ar["one"] == "يوم واحد"
    assert ar["two"] == "يومان"
    assert ar["few"] == "%(days)s أيام"
    assert ar["many"] == "%(days)s يوماً"
    assert en["one"] == "%(days)s day"
    assert en["other"] == "%(days)s days"


def test_every_message_of_the_arabic_catalogue_is_translated_and_none_is_fuzzy():
    po = polib.pofile(str(PO))
    assert len(po) > 100
    assert po.metadata["Language"] == "ar"
    assert po.metadata["Plural-Forms"].startswith("nplurals=6;")
    assert [e.msgid for e in po.untranslated_entries()] == []
    assert [e.msgid for e in po.fuzzy_entries()] == []
    assert po.metadata_is_fuzzy in (False, [], None)
    for entry in po:
        if entry.msgid_plural:
            assert sorted(entry.msgstr_plural) == list(range(6)), entry.msgid
            assert all(entry.msgstr_plural.values()), entry.msgid


def test_translations_keep_the_placeholders_and_html_of_their_source():
    placeholder = re.compile(r"%\(\w+\)s|<[^>]+>")
    for entry in polib.pofile(str(PO)):
        wanted = set(placeholder.findall(entry.msgid + entry.msgid_plural))
        forms = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
        for form in forms:
            found = set(placeholder.findall(form))
            # A plural form for one exact number (zero, one, two) may spell the number out.
            assert found <= wanted, (entry.msgid, form)
            if not entry.msgid_plural:
                assert found == wanted, (entry.msgid, form)


def test_the_committed_mo_is_compiled_from_the_current_po(tmp_path):
    expected = tmp_path / "django.mo"
    polib.pofile(str(PO)).save_as_mofile(str(expected))
    with expected.open("rb") as fresh, MO.open("rb") as committed:
        fresh_catalog = gettext.GNUTranslations(fresh)._catalog
        committed_catalog = gettext.GNUTranslations(committed)._catalog
    # The header entry ("") carries dates that differ between compilers; compare the messages.
    fresh_catalog.pop("", None)
    committed_catalog.pop("", None)
    assert committed_catalog == fresh_catalog


@in_browser
def test_the_arabic_map_on_a_phone_is_translated_mirrored_and_fits(browser, live_server, demo):
    from .conftest import MapPage

    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, locale="ar"
    )
    map_page = MapPage(context.new_page(), live_server.url)
    try:
        map_page.open("?lang=ar&date=2024-12-01")
        page = map_page.page
        page.wait_for_selector("#legend tbody tr[data-faction]")
        assert page.evaluate("document.documentElement.dir") == "rtl"
        assert page.locator("#layers-title").inner_text() == "الطبقات"
        assert page.locator("#play").get_attribute("aria-label") == "تشغيل"
        assert "مناطق السيطرة" in page.locator("#layers").inner_text()
        # Faction names in the legend are the data's Arabic names, the recorded name beside them.
        names_ar = set(Faction.objects.exclude(name_ar="").values_list("name_ar", flat=True))
        legend_names = page.eval_on_selector_all(
            "#legend tbody th", "(cells) => cells.map((c) => c.firstChild.nextSibling.textContent)"
        )
        assert legend_names and set(legend_names) <= names_ar
        # km² formatted by Intl.NumberFormat for Arabic (the browser's digits for "ar").
        wait_until(
            page,
            """() => [...document.querySelectorAll('#legend td.num')].some((c) =>
                 c.textContent !== '–'
                 && c.textContent === new Intl.NumberFormat('ar').format(
                   Number(c.textContent.replace(/[٠-٩]/g, (d) => '٠١٢٣٤٥٦٧٨٩'.indexOf(d))
                     .replace(/[^0-9]/g, ''))))""",
        )
        # The actor filter lists factions by their Arabic names; event types are translated.
        assert "هيئة تحرير الشام" in page.locator("#filter-actor").inner_text()
        assert "معارك" in page.locator("#filter-type").inner_text()
        # Dates in sentences are the language's own: "from 25 Nov. 2024 to 1 Dec. 2024".
        wait_until(
            page,
            """() => { const text = document.getElementById('event-count').textContent;
                       return text.includes('إلى') && text.includes('ديسمبر'); }""",
        )
        # Controls mirror: the step-back button sits right of the slider in right-to-left.
        back = page.locator("#step-back").bounding_box()
        slider = page.locator("#slider").bounding_box()
        assert back["x"] > slider["x"]
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        # The permalink and the language links keep the view and carry the chosen language.
        wait_until(page, "location.search.includes('lang=ar')")
        english = page.locator('#lang-switch a[data-lang="en"]').get_attribute("href")
        assert "date=2024-12-01" in english and "lang=en" in english
        # No English left by the scripts either: every text node outside the map and outside
        # the data's own Latin names, summaries and source titles is Arabic (or allowed).
        page.wait_for_selector("#chart-events .u-legend")
        leftovers = page.evaluate(VISIBLE_LATIN_WORDS)
        assert set(leftovers) - LATIN_ALLOWED == set()
        map_page.screenshot("arabic-phone")
        page.locator("#controls").scroll_into_view_if_needed()
        page.locator("#legend").scroll_into_view_if_needed()
        finish(map_page, "arabic-phone-legend")
    finally:
        context.close()


@in_browser
def test_switching_to_arabic_keeps_the_view_and_shows_arabic_names(map_page, demo):
    map_page.open("?date=2024-12-05&window=14&type=Battles")
    page = map_page.page
    wait_until(page, "location.search.includes('window=14')")
    page.locator('#lang-switch a[data-lang="ar"]').click()
    map_page.wait_for_date("2024-12-05")
    assert page.evaluate("document.documentElement.lang") == "ar"
    assert page.locator("#filter-type").input_value() == "Battles"
    assert page.locator("#window").input_value() == "14"
    assert "lang=ar" in page.locator("#permalink").get_attribute("href")
    panel = page.locator("#controls").bounding_box()
    area = page.locator(".map-area").bounding_box()
    assert panel["x"] < area["x"], "the panel is on the left in Arabic"
    page.wait_for_selector(".place-label .ar")
    # Place labels on the map lead with their Arabic form.
    leading = page.eval_on_selector_all(
        ".place-label > span > span:first-child", "(spans) => spans.map((s) => s.lang)"
    )
    assert leading and leading.count("ar") >= len(leading) * 0.9
    page.wait_for_selector("#chart-area .u-legend")
    map_page.screenshot("arabic-desktop")
    # The event panel: labels and vocabularies in Arabic, actors by their Arabic names.
    page.locator("#event-list button").first.click()
    body = page.locator("#event-body")
    body.wait_for()
    assert body.locator("dt").first.inner_text() == "التاريخ"
    assert page.locator("#event-title").inner_text() == "معارك"
    actors = body.locator(".actors li").all_inner_texts()
    names_ar = list(Faction.objects.exclude(name_ar="").values_list("name_ar", flat=True))
    assert actors and all(any(name in actor for name in names_ar) for actor in actors)
    page.locator("#event-panel").scroll_into_view_if_needed()
    finish(map_page, "arabic-event-panel")


@in_browser
def test_compare_in_arabic_lists_gains_under_the_factions_arabic_names(map_page, demo):
    map_page.open("?lang=ar&date=2024-12-10&compare=2024-11-26&lat=36.3600&lng=37.5500&z=8")
    page = map_page.page
    page.wait_for_selector(".compare-table tbody tr", timeout=15000)
    hts = page.locator('.compare-table tr[data-faction="hts"]')
    assert hts.locator("th").inner_text().strip() == Faction.objects.get(slug="hts").name_ar
    assert page.locator(".compare-table thead").inner_text().split() == [
        "الفصيل",
        "كم²",
        "مكتسبة",
        "كم²",
        "مفقودة",
        "الصافي",
    ]
    assert page.locator(".compare-table caption").inner_text().startswith("من 2024-11-26")
    page.locator("#compare-result").scroll_into_view_if_needed()
    map_page.screenshot("arabic-compare")
    page.locator("#chart-events").scroll_into_view_if_needed()
    page.wait_for_selector("#chart-events .u-legend")
    assert page.locator("#chart-events-title").inner_text().startswith("الأحداث")
    finish(map_page, "arabic-charts")


@in_browser
def test_a_zone_popup_in_arabic_names_the_holder_in_arabic(map_page, demo):
    map_page.open("?lang=ar&date=2024-12-10&lat=36.3600&lng=37.5500&z=8&layers=zones")
    x, y = map_page.pixel(*ALEPPO)
    map_page.page.mouse.click(x, y)
    popup = map_page.page.locator(".zone-popup")
    popup.wait_for()
    text = popup.inner_text()
    assert "تحت سيطرة" in text
    assert Faction.objects.get(slug=popup.get_attribute("data-faction")).name_ar in text
    assert "درجة الثقة" in text
    direction = popup.evaluate("(el) => getComputedStyle(el).direction")
    assert direction == "rtl", "the popup's text reads right to left inside the LTR map"
    map_page.page.wait_for_timeout(400)  # the popup fades in
    finish(map_page, "arabic-zone-popup")


@in_browser
def test_the_english_page_has_english_words_so_the_arabic_check_can_fail(map_page, demo):
    map_page.open("?lang=en&date=2024-12-01")
    map_page.page.wait_for_selector("#chart-events .u-legend")
    words = set(map_page.page.evaluate(VISIBLE_LATIN_WORDS)) - LATIN_ALLOWED
    assert {"Layers", "Battles", "Faction", "Play"} <= words
