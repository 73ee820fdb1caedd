"""The rules of extraction one at a time, on the demo's gazetteer built offline (no database):
what is an event and what is not, who acted, which day, where and how precisely, how many died."""

from __future__ import annotations

import datetime as dt

import pytest

from conflictmap.ingest import extract, scoring

FRIDAY = dt.date(2024, 11, 29)


@pytest.fixture(scope="module")
def gaz() -> extract.Gazetteer:
    return scoring.demo_gazetteer()


def one(gaz, text: str, published: dt.date | None = FRIDAY) -> extract.CandidateData:
    (cand,) = extract.extract(text, published, gaz)
    return cand


def actor1(cand: extract.CandidateData) -> str | None:
    return next((a["slug"] for a in cand.actors if a["role"] == "actor1"), None)


@pytest.mark.parametrize(
    "text",
    [
        "The army would retake Aleppo on Sunday, officials said.",  # modal
        "Officials said HTS cannot capture Hama on Thursday.",  # modal
        "The army denied on Thursday that rebels had entered Hama.",  # denied
        "The SDF said on Thursday it had not withdrawn from Manbij.",  # negated, no trigger
        "Russian jets strike villages near Idlib from time to time.",  # habitual, present
        "Government artillery regularly shelled Saraqib on Thursdays.",  # habitual
        "Turkey has sought for years to take Tal Rifaat.",  # analytic perfect
        "Government forces retook eastern Aleppo in December 2016.",  # history by year
        "Had Russia kept more aircraft, the army might have held Aleppo on Thursday.",  # counterfactual
        "Turkish officials said they would launch an operation against Manbij.",  # future
        "Warplanes, which have struck Idlib repeatedly, flew over Hama on Thursday.",  # relative
        "Israel has carried out hundreds of strikes across Syria since Sunday.",  # a total
    ],
)
def test_modal_negated_habitual_historical_and_analytic_sentences_are_not_events(gaz, text):
    assert extract.extract(text, FRIDAY, gaz) == []


def test_the_same_words_told_as_a_happening_are_an_event(gaz):
    cand = one(gaz, "Government forces retook Saraqib on Thursday, state media said.")
    assert (cand.sub_event_type, cand.date, actor1(cand)) == (
        "Government regains territory", dt.date(2024, 11, 28), "syrian-government",
    )  # fmt: skip


def test_background_sentences_around_an_event_give_no_candidate(gaz):
    text = (
        "HTS captured Saraqib on Thursday. The town was taken by government forces in early 2020 "
        "after months of bombardment. Analysts say the army cannot hold the M5 for long."
    )
    assert [c.sentence_index for c in extract.extract(text, FRIDAY, gaz)] == [0]


@pytest.mark.parametrize(
    ("text", "sub", "main"),
    [
        ("The SNA took control of Tal Rifaat on Thursday.", "Non-state actor overtakes territory", "sna"),
        ("Syrian government forces recaptured Saraqib on Thursday.", "Government regains territory",
         "syrian-government"),
        ("Turkish-backed rebels recaptured Saraqib on Thursday.", "Non-state actor overtakes territory",
         "sna"),
        ("Rebel forces of HTS entered Hama unopposed on Thursday.", "Non-violent transfer of territory",
         "hts"),
        ("Government forces raised the flag in Daraa on Thursday after rebels handed it over under a deal.",
         "Non-violent transfer of territory", "syrian-government"),
        ("Russian warplanes struck Idlib on Thursday.", "Air/drone strike", "russia"),
        ("Government forces shelled Saraqib on Thursday.", "Shelling/artillery/missile attack",
         "syrian-government"),
        ("A car bomb exploded in Manbij on Thursday. No group claimed responsibility.",
         "Remote explosive/landmine/IED", "unidentified-armed-group"),
        ("Hundreds of people protested in Idlib on Thursday against HTS.", "Peaceful protest", None),
    ],
)  # fmt: skip
def test_acled_sub_types_follow_who_takes_a_place_and_how(gaz, text, sub, main):
    cand = extract.extract(text, FRIDAY, gaz)[0]
    assert (cand.sub_event_type, actor1(cand)) == (sub, main)


def test_references_resolve_to_the_actor_named_before_or_after(gaz):
    text = (
        "Hayat Tahrir al-Sham launched an offensive on Wednesday. "
        "The rebels captured Saraqib on Thursday."
    )
    assert actor1(one(gaz, text)) == "hts"
    later = "Insurgents entered Hama on Thursday. The offensive is led by Hayat Tahrir al-Sham."
    assert actor1(one(gaz, later)) == "hts"


def test_the_regime_and_the_army_are_the_state_of_their_day(gaz):
    before = one(gaz, "Government forces shelled Idlib on Monday.", dt.date(2024, 12, 3))
    after = one(gaz, "Government forces shelled Idlib on Monday.", dt.date(2025, 3, 11))
    assert actor1(before) == "syrian-government"  # Assad's, until 8 Dec 2024
    assert actor1(after) == "hts"  # the interim authorities, coded hts


def test_weekdays_and_yesterday_resolve_against_the_report_and_never_after_it(gaz):
    assert one(gaz, "HTS captured Saraqib on Friday.").date == FRIDAY
    assert one(gaz, "HTS captured Saraqib on Saturday.").date == dt.date(2024, 11, 23)
    assert one(gaz, "HTS captured Saraqib yesterday.").date == dt.date(2024, 11, 28)
    following = "HTS captured Saraqib on Thursday. Hours later, government warplanes struck Idlib."
    assert [c.date for c in extract.extract(following, FRIDAY, gaz)] == [dt.date(2024, 11, 28)] * 2


def test_without_a_report_date_a_dateline_dates_the_report_else_the_date_is_unknown(gaz):
    dated = one(
        gaz, "HAMA, Syria, 5 December 2024 — Rebel fighters of HTS entered Hama on Thursday.", None
    )
    assert (dated.date, dated.date_source) == (dt.date(2024, 12, 5), "text")
    undated = one(gaz, "Rebel fighters of HTS entered Hama on Thursday.", None)
    assert (undated.date, undated.date_source) == (None, "")


def test_two_places_taken_give_one_candidate_each(gaz):
    text = (
        "By nightfall HTS had captured Urum al-Kubra and the nearby village of Anjara on Wednesday."
    )
    cands = extract.extract(text, FRIDAY, gaz)
    assert [(c.part, c.lon, c.lat) for c in cands] == [(0, 36.955, 36.152), (1, 36.968, 36.195)]


def test_a_site_not_in_the_gazetteer_is_placed_near_the_named_place_and_suggested(gaz):
    cand = one(gaz, "Rebels of HTS attacked a checkpoint outside Saraqib on Thursday.")
    saraqib = one(gaz, "HTS captured Saraqib on Thursday.")
    assert cand.location_precision == "near" and saraqib.location_precision == "exact"
    assert (cand.lon, cand.lat) == (saraqib.lon, saraqib.lat)
    strike = one(gaz, "The US fired 59 Tomahawk missiles at Shayrat air base near Homs on Friday.")
    assert (strike.suggested_place, strike.location_precision) == ("Shayrat air base", "near")
    assert strike.places[0]["name"] == "Homs"
    province = one(gaz, "An air strike by Syrian government forces hit Idlib province on Thursday.")
    assert province.location_precision == "region"


def test_a_distance_and_a_direction_move_the_point(gaz):
    cand = one(gaz, "Russian jets struck a village 20 km west of Aleppo on Thursday.")
    aleppo = one(gaz, "Russian jets struck Aleppo on Thursday.")
    assert cand.location_precision == "near"
    assert cand.lat == pytest.approx(aleppo.lat, abs=0.01)
    assert aleppo.lon - cand.lon == pytest.approx(20 / (111.32 * 0.807), abs=0.01)  # cos(36.2°)


@pytest.mark.parametrize(
    ("wording", "value", "qualifier"),
    [
        ("killing at least eight civilians", 8, "at least"),
        ("killing 26 fighters", 26, "exact"),
        ("killing dozens of civilians", 12, "at least"),
        ("killing nearly 90 people", 90, "about"),
        ("killing more than 80 people", 80, "at least"),
        ("wounding three people", None, ""),
        ("killing several people", None, ""),
    ],
)
def test_fatalities_carry_their_qualifier_and_unknown_stays_unknown(gaz, wording, value, qualifier):
    cand = one(gaz, f"Russian warplanes struck Idlib on Thursday, {wording}.")
    assert (cand.fatalities, cand.fatalities_qualifier) == (value, qualifier)
    zero = one(gaz, "Israeli warplanes struck Tartus on Thursday. No one was killed.")
    assert (zero.fatalities, zero.fatalities_qualifier) == (0, "exact")


def test_arabic_reports_follow_the_same_rules(gaz):
    friday = dt.date(2024, 12, 6)
    cand = one(gaz, "سيطرت هيئة تحرير الشام على مدينة حماة أمس الخميس.", friday)
    assert (cand.sub_event_type, actor1(cand), cand.date) == (
        "Non-state actor overtakes territory", "hts", dt.date(2024, 12, 5),
    )  # fmt: skip
    assert cand.places[0]["name"] == "Ḩamāh"
    levantine = one(gaz, "قصفت قوات النظام أحياء درعا البلد يوم الخميس 29 تموز/يوليو 2021.", None)
    assert (levantine.date, actor1(levantine)) == (dt.date(2021, 7, 29), "syrian-government")
    assert extract.extract("لم تدخل الفصائل مدينة حماة يوم الخميس.", friday, gaz) == []
    assert extract.extract("سيطرت الفصائل على حلب عام 2016.", friday, gaz) == []


def test_arabic_announced_control_is_a_capture_and_bombing_by_aircraft_an_air_strike(gaz):
    sunday = dt.date(2024, 12, 8)
    announced = one(gaz, "أعلنت هيئة تحرير الشام يوم السبت السيطرة الكاملة على مدينة حمص.", sunday)
    assert (announced.sub_event_type, actor1(announced), announced.date) == (
        "Non-state actor overtakes territory", "hts", dt.date(2024, 12, 7),
    )  # fmt: skip
    # قصف is any bombardment: the aircraft make it an air strike, guns keep it shelling.
    by_air = one(gaz, "قصفت طائرات حربية تابعة لقوات النظام مدينة إدلب يوم الاثنين.", sunday)
    assert by_air.sub_event_type == "Air/drone strike"
    by_guns = one(gaz, "قصفت مدفعية قوات النظام مدينة إدلب يوم الاثنين.", sunday)
    assert by_guns.sub_event_type == "Shelling/artillery/missile attack"


def test_each_stage_reports_its_time_when_asked(gaz):
    timings: dict[str, float] = {}
    extract.extract("HTS captured Saraqib on Thursday, killing at least eight.", FRIDAY, gaz,
                    timings=timings)  # fmt: skip
    assert set(timings) <= set(extract.STAGES) and {"gazetteer", "triggers"} <= set(timings)
    assert all(v >= 0 for v in timings.values())
