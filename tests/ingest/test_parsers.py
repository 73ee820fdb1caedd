"""Parsers on saved samples: pure functions, every bad input named with its reason."""

from __future__ import annotations

import datetime as dt

from conflictmap.ingest.parsers import acled, feed, text

HEADER = ",".join(acled.COLUMNS)


def acled_row(**values) -> str:
    row = {c: "" for c in acled.COLUMNS}
    row.update(
        event_id_cnty="SYR1", event_date="2024-11-27", time_precision="1", event_type="Battles",
        sub_event_type="Armed clash", actor1="Hayat Tahrir al Sham", latitude="36.2",
        longitude="37.1", geo_precision="1", fatalities="3",
    )  # fmt: skip
    row.update(values)
    return ",".join(f'"{row[c]}"' for c in acled.COLUMNS)


def by_row(problems):
    return {p.row: p for p in problems}


def test_it_reads_the_acled_sample_and_names_each_bad_row(sample):
    records, problems = acled.parse(sample("acled_sample.csv"))
    assert [r.event_id for r in records] == [
        "SYR129001", "SYR129002", "SYR129003", "SYR129004", "SYR129005", "SYR129006", "SYR129011",
    ]  # fmt: skip
    rows = by_row(problems)
    assert rows["7 (SYR129006)"].repaired
    assert "swapped" in rows["7 (SYR129006)"].reason
    assert rows["8 (SYR129007)"].reason == (
        "coordinates (latitude 48.8566, longitude 2.3522) are outside Syria"
    )
    assert "2024/13/45" in rows["9 (SYR129008)"].reason
    assert "Skirmish" in rows["10 (SYR129009)"].reason
    assert rows["11 (SYR129010)"].reason == "latitude or longitude is empty"
    assert rows["13"].reason == "has 6 fields, the header has 31"
    assert sum(not p.repaired for p in problems) == 5


def test_it_accepts_both_date_forms_acled_exports_use(sample):
    records, _ = acled.parse(sample("acled_sample.csv"))
    by_id = {r.event_id: r for r in records}
    assert by_id["SYR129001"].date == dt.date(2024, 11, 27)
    assert by_id["SYR129002"].date == dt.date(2024, 11, 27)  # "27 November 2024"


def test_it_maps_precisions_fatalities_and_actors(sample):
    records, _ = acled.parse(sample("acled_sample.csv"))
    by_id = {r.event_id: r for r in records}
    clash = by_id["SYR129003"]
    assert clash.date_precision == "week"
    assert clash.location_precision == "near"
    assert clash.fatalities is None  # unknown is not zero
    assert clash.actors == [
        ("actor1", "Hayat Tahrir al Sham"),
        ("assoc_actor_1", "Ahrar al Sham"),
        ("assoc_actor_1", "Jaysh al Izza"),
        ("actor2", "Military Forces of Syria (2000-2024)"),
        ("assoc_actor_2", "Hezbollah"),
    ]
    assert by_id["SYR129005"].date_precision == "month"
    assert by_id["SYR129005"].location_precision == "region"
    assert by_id["SYR129004"].fatalities == 0
    swapped = by_id["SYR129006"]
    assert (swapped.lat, swapped.lon) == (35.1318, 36.75)


def test_it_names_the_missing_required_columns():
    data = b"event_id_cnty,event_date,actor1,notes\nSYR1,2024-11-27,HTS,x\n"
    records, problems = acled.parse(data)
    assert records == []
    assert problems[0].row == "1"
    assert problems[0].reason.startswith(
        "missing required column(s): event_type, latitude, longitude"
    )


def test_it_reads_a_utf8_file_with_a_byte_order_mark():
    data = ("\ufeff" + HEADER + "\n" + acled_row(location="Ḥalab") + "\n").encode("utf-8")
    records, problems = acled.parse(data)
    assert problems == []
    assert records[0].location == "Ḥalab"


def test_it_falls_back_to_cp1252_and_says_so_and_keeps_the_rows():
    data = (HEADER + "\n" + acled_row(notes="café – shelling") + "\n").encode("cp1252")
    records, problems = acled.parse(data)
    assert records[0].notes == "café – shelling"
    assert problems[0].repaired and "read as Windows-1252" in problems[0].reason


def test_it_rejects_bad_numbers_with_the_column_named():
    data = "\n".join(
        [
            HEADER,
            acled_row(event_id_cnty="A", fatalities="many"),
            acled_row(event_id_cnty="B", time_precision="7"),
            acled_row(event_id_cnty="C", latitude="north"),
            acled_row(event_id_cnty="D", sub_event_type="Air/drone strike"),
            acled_row(event_id_cnty="E"),
        ]
    ).encode()
    records, problems = acled.parse(data)
    assert [r.event_id for r in records] == ["E"]
    reasons = [p.reason for p in problems]
    assert reasons == [
        'fatalities "many" is not a whole number',
        'time_precision "7" is not 1, 2 or 3',
        'latitude "north" is not a number',
        'sub_event_type "Air/drone strike" is not a sub-type of Battles',
    ]


def test_it_rejects_swapped_coordinates_that_still_miss_syria():
    records, problems = acled.parse(
        (HEADER + "\n" + acled_row(latitude="10.0", longitude="20.0") + "\n").encode()
    )
    assert records == []
    assert "outside Syria" in problems[0].reason


def test_it_reads_an_rss_feed_sample(sample):
    entries, problems = feed.parse(sample("feed.rss"))
    assert [e.guid for e in entries] == ["tsm-1001", "tsm-1002"]
    assert entries[0].published == dt.datetime(2024, 12, 1, 9, 30, tzinfo=dt.UTC)
    assert "Tell Refaat" in entries[0].text
    assert "alert" not in entries[1].text  # scripts are dropped
    assert entries[0].publisher.startswith("Test Syria Monitor")
    assert [(p.row, p.reason) for p in problems] == [("entry 3", "has neither title nor text")]


def test_it_reads_an_atom_feed_sample(sample):
    entries, problems = feed.parse(sample("feed.atom"))
    assert problems == []
    assert [e.url for e in entries] == [
        "https://wire.example.net/menbij-clashes",
        "https://wire.example.net/hama-shelling",
    ]
    assert entries[1].text == "Regime artillery shelled villages north of Hama on 3 December 2024."


def test_it_says_an_html_page_is_not_a_feed(sample):
    entries, problems = feed.parse(sample("not_a_feed.html"))
    assert entries == []
    assert problems[0].reason.startswith("this is an HTML page, not an RSS/Atom feed")


def test_it_says_garbage_is_not_a_feed():
    entries, problems = feed.parse(b"just some words")
    assert entries == []
    assert problems[0].reason.startswith("not an RSS or Atom feed")


def test_it_reads_a_plain_text_article(sample):
    docs, problems = text.parse(sample("article.txt"))
    assert problems == []
    assert docs[0].title.startswith("TEST SAMPLE article")
    assert "Tall Rif'at" in docs[0].text


def test_it_reads_an_html_article_without_its_navigation_and_scripts(sample):
    docs, _ = text.parse(sample("article.html"))
    doc = docs[0]
    assert doc.title == "Fighting near Manbij (TEST SAMPLE)"
    assert doc.published == dt.datetime(2024, 12, 6, 8, tzinfo=dt.UTC)
    assert doc.text.startswith("Clashes erupted between the SDF")
    assert "airstrike" not in doc.text.lower() and "Test Wire" not in doc.text


def test_it_says_an_empty_document_has_no_text():
    assert text.parse(b"  \n ")[1][0].reason == "no text found in the document"
