"""Extraction: places (spellings, Arabic), actors, dates relative to the report, event types."""

from __future__ import annotations

import datetime as dt

import pytest

from conflictmap.ingest import extract

SUNDAY = dt.date(2024, 12, 1)


def places_in(text: str) -> list[str]:
    return [
        m[2].name
        for m in extract.find_matches(text, extract.get_gazetteer())
        if m[2].kind == "place"
    ]


@pytest.mark.parametrize(
    ("spelling", "place"),
    [
        ("Manbij", "Manbij"), ("Menbij", "Manbij"), ("Minbij", "Manbij"), ("MANBIJ", "Manbij"),
        ("Idlib", "Idlib"), ("Idleb", "Idlib"),
        ("Tal Rifaat", "Tal Rifaat"), ("Tell Refaat", "Tal Rifaat"), ("Tall Rif'at", "Tal Rifaat"),
        ("Tall Rifʿat", "Tal Rifaat"), ("Tal-Rifaat", "Tal Rifaat"),
        ("Ḥamā", "Hama"), ("Sarakeb", "Saraqib"), ("Deir ez-Zor", "Deir ez-Zor"),
        ("منبج", "Manbij"), ("إدلب", "Idlib"), ("ادلب", "Idlib"), ("حماه", "Hama"),
        ("تل رفعت", "Tal Rifaat"), ("بمنبج", "Manbij"),
        ("Maarat al-Numan", "Ma‘arrat an Nu‘mān"), ("Ma'arrat al-Nu'man", "Ma‘arrat an Nu‘mān"),
        ("Qamishli", "Al Qāmishlī"), ("al-Qamishli", "Al Qāmishlī"),
    ],
)  # fmt: skip
def test_it_finds_a_place_under_its_other_spellings(gazetteer, spelling, place):
    assert places_in(f"Fighting was reported in {spelling}, sources said.") == [place]


def test_it_does_not_find_places_inside_other_words_or_in_lower_case_words(gazetteer):
    assert places_in("The Hamas delegation and the Aleppoan dish.") == []
    assert places_in("They said hama and idleb in lower case are not names.") == []


def test_it_gives_offsets_in_the_original_text_even_after_folding(gazetteer):
    text = "Ḥaṣṣ — clashes near Tall Rif'at, then Menbij."
    found = extract.find_matches(text, extract.get_gazetteer())
    assert [text[s:e] for s, e, _ in found] == ["Tall Rif'at", "Menbij"]


def test_it_reads_actors_from_aliases_and_the_lexicon(gazetteer):
    text = (
        "Hayat Tahrir al-Sham and Turkish-backed factions clashed with regime forces, the YPG "
        "and Hezbollah near Aleppo while Iranian militias withdrew."
    )
    cand = extract.extract(text, SUNDAY)[0]
    assert [a["slug"] for a in cand.actors] == [
        "hts", "sna", "syrian-government", "sdf", "hezbollah", "iran",
    ]  # fmt: skip
    assert all(a["faction_id"] for a in cand.actors)


def test_it_matches_acronyms_only_in_capitals(gazetteer):
    cands = extract.extract(
        "Is it true? Clashes broke out in Idlib. IS fighters clashed in Hama.", SUNDAY
    )
    assert [c.actors for c in cands][0] == []
    assert [a["slug"] for a in cands[1].actors] == ["isis"]


@pytest.mark.parametrize(
    ("wording", "day"),
    [
        ("yesterday", dt.date(2024, 11, 30)), ("on Tuesday", dt.date(2024, 11, 26)),
        ("on Sunday", SUNDAY), ("last Sunday", dt.date(2024, 11, 24)),
        ("three days ago", dt.date(2024, 11, 28)), ("on 27 November", dt.date(2024, 11, 27)),
        ("on November 29", dt.date(2024, 11, 29)), ("on 2024-11-25", dt.date(2024, 11, 25)),
        ("on 30 December", dt.date(2023, 12, 30)), ("today", SUNDAY),
    ],
)  # fmt: skip
def test_it_resolves_dates_against_the_report_date(gazetteer, wording, day):
    cand = extract.extract(f"Regime forces shelled Saraqib {wording}.", SUNDAY)[0]
    assert cand.date == day


def test_it_resolves_an_arabic_relative_date(gazetteer):
    cand = extract.extract("قصفت قوات النظام مدينة منبج أمس.", SUNDAY)[0]
    assert cand.date == dt.date(2024, 11, 30)
    assert cand.places[0]["name"] == "Manbij"
    assert cand.actors[0]["slug"] == "syrian-government"


@pytest.mark.parametrize(
    ("sentence", "day"),
    [
        ("قصفت قوات النظام مدينة منبج في 27 تشرين الثاني 2024.", dt.date(2024, 11, 27)),
        ("اشتباكات بين قسد والجيش الوطني في منبج يوم 3 كانون الأول.", dt.date(2023, 12, 3)),
        ("غارات روسية على إدلب في 28 نوفمبر 2024.", dt.date(2024, 11, 28)),
    ],
)
def test_it_reads_absolute_arabic_dates_including_the_levantine_month_names(
    gazetteer, sentence, day
):
    assert extract.extract(sentence, SUNDAY)[0].date == day


def test_a_sentence_without_a_date_takes_the_last_date_mentioned_then_the_report_date(gazetteer):
    text = "On 27 November, HTS launched an offensive. Clashes broke out in Saraqib."
    assert extract.extract(text, SUNDAY)[-1].date == dt.date(2024, 11, 27)
    (cand,) = extract.extract("Clashes broke out in Saraqib.", SUNDAY)
    assert (cand.date, cand.date_source) == (SUNDAY, "report")  # said, and less confident
    (undated,) = extract.extract("Clashes broke out in Saraqib.", None)
    assert (undated.date, undated.date_source) == (None, "")  # unknown, never the import day


@pytest.mark.parametrize(
    ("sentence", "event_type", "sub"),
    [
        ("Heavy clashes broke out in Saraqib.", "Battles", "Armed clash"),
        ("HTS captured Saraqib.", "Battles", "Non-state actor overtakes territory"),
        ("The SNA took control of Tal Rifaat.", "Battles", "Non-state actor overtakes territory"),
        ("Regime forces recaptured Hama.", "Battles", "Government regains territory"),
        ("Russian airstrikes hit Idlib.", "Explosions/Remote violence", "Air/drone strike"),
        ("A drone strike hit a car near Manbij.", "Explosions/Remote violence", "Air/drone strike"),
        ("Artillery shelling hit Saraqib.", "Explosions/Remote violence", "Shelling/artillery/missile attack"),
        ("Gunmen killed three civilians in Deir ez-Zor.", "Violence against civilians", "Attack"),
        ("Protesters gathered in Idlib.", "Protests", "Peaceful protest"),
    ],
)  # fmt: skip
def test_it_reads_the_event_type_from_the_wording(gazetteer, sentence, event_type, sub):
    cand = extract.extract(sentence, SUNDAY)[0]
    assert (cand.event_type, cand.sub_event_type) == (event_type, sub)


def test_a_candidate_has_its_sentence_spans_coordinates_fatalities_and_confidence(
    gazetteer, sample
):
    from conflictmap.ingest.parsers import text as text_parser

    doc = text_parser.parse(sample("article.txt"))[0][0]
    cands = extract.extract(doc.text, dt.date(2024, 12, 2))
    first = cands[0]
    assert "took control of Tall Rif'at on Sunday" in first.sentence
    assert [first.sentence[p["start"] : p["end"]] for p in first.places] == [
        "ALEPPO",
        "Tall Rif'at",
    ]
    assert (first.lon, first.lat) == (37.0978, 36.4728)
    assert first.date == dt.date(2024, 12, 1)
    assert [a["slug"] for a in first.actors] == ["hts", "sdf"]
    strike = cands[1]
    assert strike.fatalities == 12 and strike.sub_event_type == "Air/drone strike"
    assert 0 < strike.confidence <= 0.95
    assert len(cands) == 4  # the last sentence has no event in it
    assert cands[3].places[0]["name"] == "Manbij"


def test_it_ignores_sentences_without_event_wording_or_without_place_and_actor(gazetteer):
    assert extract.extract("Aleppo is a large city. Clashes were reported.", SUNDAY) == []


def test_the_automaton_is_cached_and_rebuilt_when_the_gazetteer_changes(gazetteer):
    from django.contrib.gis.geos import Point

    from conflictmap.events.models import Place

    first = extract.get_gazetteer()
    assert extract.get_gazetteer() is first
    Place.objects.create(name="Kobani", alternate_names=["Ayn al-Arab"], geom=Point(38.39, 36.89))
    rebuilt = extract.get_gazetteer(force_check=True)
    assert rebuilt is not first
    assert places_in("Clashes near Ayn al-Arab.") == ["Kobani"]
