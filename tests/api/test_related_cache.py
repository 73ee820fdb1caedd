"""Event.related, kept by database triggers, stays equal to aggregating the related rows, and the
events export reading it writes the same bytes as the export that aggregated them."""

from __future__ import annotations

import csv
import datetime as dt
import importlib
import io

import pytest
from django.contrib.gis.geos import Point
from django.db import connection

from conflictmap.events import queries as event_sql
from conflictmap.events.models import Event, EventActor, ExternalId, Place, Source
from conflictmap.geojson import Query, rows_from_cursor
from conflictmap.ingest import pipeline
from conflictmap.ingest.models import ImportRun
from conflictmap.ingest.parsers import acled as acled_parser
from conflictmap.territory.models import Faction

# --- the export as it was before the cache: every event's related rows aggregated -------------

_FACTION = "'{\"slug\":' || to_json(f.slug) || ',\"name\":' || to_json(f.name)"
_SOURCE = (
    "'{\"url\":' || to_json(s.url) || ',\"publisher\":' || to_json(s.publisher)"
    " || ',\"title\":' || to_json(s.title) || '}'"
)
REFERENCE_RELATED = f"""
    LEFT JOIN LATERAL (
        SELECT string_agg({_FACTION} || ',"role":' || to_json(ea.role) || '}}', ','
                          ORDER BY ea.role, f.slug) AS actors
        FROM events_eventactor ea JOIN territory_faction f ON f.id = ea.faction_id
        WHERE ea.event_id = e.id
    ) a ON true
    LEFT JOIN LATERAL (
        SELECT string_agg({_SOURCE}, ',' ORDER BY s.id) AS sources
        FROM events_event_sources es JOIN events_source s ON s.id = es.source_id
        WHERE es.event_id = e.id
    ) src ON true
    LEFT JOIN LATERAL (
        SELECT string_agg(to_json(x.system) || ':' || to_json(x.value), ',' ORDER BY x.system)
            AS ids
        FROM events_externalid x WHERE x.event_id = e.id
    ) xi ON true
"""


def _aggregated(feature_sql: str) -> str:
    """The export's feature SQL with the aggregates of REFERENCE_RELATED in place of the cache."""
    for part, aggregate in (
        ("e.related[1]", "('[' || COALESCE(a.actors, '') || ']')"),
        ("e.related[2]", "('[' || COALESCE(src.sources, '') || ']')"),
        ("e.related[3]", "('{' || COALESCE(xi.ids, '') || '}')"),
    ):
        assert feature_sql.count(part) == 1, part
        feature_sql = feature_sql.replace(part, aggregate)
    return feature_sql


REFERENCE_FEATURE = _aggregated(event_sql.FEATURE_SQL)

# The CSV export as it was: its lists aggregated from the related tables.
REFERENCE_CSV = """
    SELECT e.id, e.date::text, e.date_precision, e.event_type, e.sub_event_type,
        round(ST_X(e.geom)::numeric, 6), round(ST_Y(e.geom)::numeric, 6),
        (SELECT string_agg(f.slug || ':' || ea.role, ';' ORDER BY ea.role, f.slug)
           FROM events_eventactor ea JOIN territory_faction f ON f.id = ea.faction_id
          WHERE ea.event_id = e.id),
        e.fatalities, e.confidence, e.status, e.location_precision, p.name, p.name_ar, e.location_name,
        e.summary,
        (SELECT string_agg(s.url, '|' ORDER BY s.id)
           FROM events_event_sources es JOIN events_source s ON s.id = es.source_id
          WHERE es.event_id = e.id),
        (SELECT string_agg(x.system || ':' || x.value, ';' ORDER BY x.system, x.value)
           FROM events_externalid x WHERE x.event_id = e.id)
    FROM events_event e LEFT JOIN events_place p ON p.id = e.place_id
    WHERE {where} ORDER BY e.id
"""


def reference_features(flt: event_sql.EventFilter) -> list[str]:
    where, params = flt.where()
    sql = f"""
    SELECT {REFERENCE_FEATURE}
    FROM events_event e LEFT JOIN events_place p ON p.id = e.place_id
    {REFERENCE_RELATED}
    WHERE {where} ORDER BY e.id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [r[0] for r in cursor.fetchall()]


def exported(flt: event_sql.EventFilter) -> list[str]:
    query: Query = event_sql.features(flt)
    return [r[0] for rows in rows_from_cursor(query) for r in rows]


def reference_related() -> dict[int, list[str]]:
    """What the cache must hold for every event, from the aggregating joins."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT e.id, '[' || COALESCE(a.actors, '') || ']',
                       '[' || COALESCE(src.sources, '') || ']', '{{' || COALESCE(xi.ids, '') || '}}'
                FROM events_event e {REFERENCE_RELATED}"""
        )
        return {pk: [actors, sources, ids] for pk, actors, sources, ids in cursor.fetchall()}


def cached() -> dict[int, list[str]]:
    return dict(Event.objects.values_list("id", "related"))


def assert_cache_is_right() -> None:
    assert cached() == reference_related()


def related_of(event: Event) -> list[str]:
    return Event.objects.values_list("related", flat=True).get(pk=event.pk)


@pytest.fixture
def hts(make_faction):
    return make_faction(name='Hayat Tahrir al-Sham "HTS"', slug="hts")


@pytest.fixture
def saa(make_faction):
    return make_faction(name="Syrian Arab Army / الجيش", slug="saa")


# --- the cache follows each kind of change ------------------------------------------------------


def test_a_new_event_has_empty_lists(make_event):
    event = make_event()
    assert related_of(event) == ["[]", "[]", "{}"]


def test_adding_and_removing_an_actor_updates_the_cached_json(make_event, hts, saa):
    event = make_event()
    EventActor.objects.create(event=event, faction=saa, role="actor2")
    EventActor.objects.create(event=event, faction=hts, role="actor1")
    assert related_of(event)[0] == (
        '[{"slug":"hts","name":"Hayat Tahrir al-Sham \\"HTS\\"","role":"actor1"},'
        '{"slug":"saa","name":"Syrian Arab Army / الجيش","role":"actor2"}]'
    )
    EventActor.objects.filter(event=event, faction=hts).delete()
    assert related_of(event)[0] == (
        '[{"slug":"saa","name":"Syrian Arab Army / الجيش","role":"actor2"}]'
    )
    EventActor.objects.filter(event=event).update(role="assoc_actor_2")
    assert '"role":"assoc_actor_2"' in related_of(event)[0]
    event.event_actors.all().delete()
    assert related_of(event)[0] == "[]"
    assert_cache_is_right()


def test_adding_and_removing_a_source_through_the_m2m_updates_it(make_event):
    event = make_event()
    first = Source.objects.create(url="https://example.org/a", publisher="P", title="A")
    second = Source.objects.create(url="", publisher="Q", title='Says "hi"\n')
    event.sources.add(second, first)
    assert related_of(event)[1] == (
        '[{"url":"https://example.org/a","publisher":"P","title":"A"},'
        '{"url":"","publisher":"Q","title":"Says \\"hi\\"\\n"}]'
    )
    event.sources.remove(first)
    assert related_of(event)[1] == '[{"url":"","publisher":"Q","title":"Says \\"hi\\"\\n"}]'
    event.sources.clear()
    assert related_of(event)[1] == "[]"
    event.sources.set([first])
    assert_cache_is_right()


def test_editing_a_factions_name_or_slug_updates_every_event_it_acts_in(make_event, hts, saa):
    events = [make_event() for _ in range(3)]
    for event in events:
        EventActor.objects.create(event=event, faction=hts, role="actor1")
    EventActor.objects.create(event=events[0], faction=saa, role="actor2")
    other = make_event()
    EventActor.objects.create(event=other, faction=saa, role="actor1")
    before_other = related_of(other)

    hts.name = "HTS (renamed)"
    hts.save()
    for event in events:
        assert '"name":"HTS (renamed)"' in related_of(event)[0]
    assert related_of(other) == before_other

    Faction.objects.filter(pk=hts.pk).update(slug="a-hts")
    assert related_of(events[0])[0].startswith('[{"slug":"a-hts"')
    assert_cache_is_right()


def test_editing_a_sources_title_updates_the_events_citing_it(make_event):
    cited = Source.objects.create(url="https://example.org/x", publisher="P", title="Old")
    events = [make_event() for _ in range(2)]
    for event in events:
        event.sources.add(cited)
    cited.title = "New title"
    cited.save()
    for event in events:
        assert related_of(event)[1] == (
            '[{"url":"https://example.org/x","publisher":"P","title":"New title"}]'
        )
    Source.objects.filter(pk=cited.pk).update(publisher="Publisher 2", url="")
    assert '"publisher":"Publisher 2"' in related_of(events[1])[1]
    assert_cache_is_right()


def test_adding_and_deleting_an_external_id(make_event):
    event = make_event()
    ExternalId.objects.create(event=event, system="ucdp", value="u-1")
    acled = ExternalId.objects.create(event=event, system="acled", value="SYR1")
    assert related_of(event)[2] == '{"acled":"SYR1","ucdp":"u-1"}'
    acled.delete()
    assert related_of(event)[2] == '{"ucdp":"u-1"}'
    ExternalId.objects.filter(event=event).delete()
    assert related_of(event)[2] == "{}"
    assert_cache_is_right()


def bulk_events(n: int, hts, saa) -> list[Event]:
    made = Event.objects.bulk_create(
        [
            Event(
                date=dt.date(2024, 12, 1),
                event_type="Battles",
                geom=Point(37.0 + i / 10000, 36.0, srid=4326),
                status="published",
            )
            for i in range(n)
        ]
    )
    links = [EventActor(event=e, faction=hts, role="actor1") for e in made]
    links += [EventActor(event=e, faction=saa, role="actor2") for e in made[::2]]
    EventActor.objects.bulk_create(links)  # one INSERT: one trigger call
    return made


def flush() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT events_related_flush()")


def test_bulk_creating_a_few_events_with_actors_in_one_statement(hts, saa):
    made = bulk_events(50, hts, saa)  # below BULK_ROWS: applied by the statement itself
    assert all(related_of(e)[0].startswith('[{"slug":"hts"') for e in made)
    assert related_of(made[0])[0].count('"slug"') == 2
    assert related_of(made[1])[0].count('"slug"') == 1
    assert_cache_is_right()


def test_a_bulk_statement_is_applied_by_the_export_inside_its_transaction(hts, saa):
    made = bulk_events(600, hts, saa)  # 900 rows in one statement: applied at commit
    assert related_of(made[0])[0] == "[]"  # not yet
    flt = event_sql.EventFilter()
    assert exported(flt) == reference_features(flt)  # the export applies them first
    assert_cache_is_right()
    ExternalId.objects.bulk_create(
        [ExternalId(event=e, system="acled", value=f"B{e.pk}") for e in made]
    )
    flush()
    assert related_of(made[3])[2] == f'{{"acled":"B{made[3].pk}"}}'
    assert_cache_is_right()


@pytest.mark.django_db(transaction=True)
def test_a_bulk_statement_is_applied_when_its_transaction_commits(make_faction):
    from django.db import transaction

    hts, saa = make_faction(slug="hts"), make_faction(slug="saa")
    with transaction.atomic():
        made = bulk_events(1200, hts, saa)
        assert related_of(made[0])[0] == "[]"
    assert related_of(made[0])[0].count('"slug"') == 2
    assert_cache_is_right()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM events_related_pending")
        assert cursor.fetchone()[0] == 0


def acled_csv(rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=acled_parser.COLUMNS, restval="")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return out.getvalue().encode()


def acled_row(i: int, **values) -> dict:
    row = {
        "event_id_cnty": f"SYR{i}",
        "event_date": "2024-11-27",
        "time_precision": "1",
        "event_type": "Battles",
        "sub_event_type": "Armed clash",
        "actor1": "Hayat Tahrir al Sham",
        "actor2": "Military Forces of Syria (2000-2024)",
        "assoc_actor_1": "Ahrar al Sham" if i % 2 else "",
        "latitude": "36.2",
        "longitude": f"{37.0 + i / 1000:.4f}",
        "geo_precision": "1",
        "fatalities": str(i % 4),
        "source": "Test source",
        "notes": f"Row {i}",
    }
    row.update(values)
    return row


def import_acled(data: bytes) -> ImportRun:
    run = pipeline.create_run(ImportRun.Kind.ACLED, data, filename="test.csv")
    return pipeline.process_run(run.pk, inline=True)


def test_an_acled_import_through_the_pipeline_fills_and_updates_the_cache(db):
    run = import_acled(acled_csv([acled_row(i) for i in range(1, 41)]))
    assert run.created == 40
    assert_cache_is_right()
    one = ExternalId.objects.get(system="acled", value="SYR3").event
    actors, sources, ids = related_of(one)
    assert ids == '{"acled":"SYR3"}'
    assert actors.count('"role"') == 3  # actor1, its associate, actor2
    assert '"publisher":"ACLED"' in sources

    # A second file changes the actors of one event (the update path deletes and re-adds them).
    changed = [acled_row(i) for i in range(1, 41)]
    changed[2] = acled_row(3, actor2="Hezbollah", assoc_actor_1="")
    again = import_acled(acled_csv(changed))
    assert again.updated == 1
    assert '"role":"assoc_actor_1"' not in related_of(one)[0]
    assert related_of(one)[1].count('"publisher":"ACLED"') == 2  # both files cite it
    assert_cache_is_right()


@pytest.mark.django_db(transaction=True)
def test_a_committed_acled_import_of_bulk_batches_leaves_the_cache_right():
    run = import_acled(acled_csv([acled_row(i) for i in range(1, 1201)]))
    assert run.created == 1200
    assert_cache_is_right()
    one = ExternalId.objects.get(system="acled", value="SYR7").event
    assert related_of(one)[2] == '{"acled":"SYR7"}'
    before = related_of(one)[0]
    changed = [acled_row(i, actor2="Hezbollah") for i in range(1, 1201)]
    assert import_acled(acled_csv(changed)).updated == 1200
    assert related_of(one)[0] != before
    assert_cache_is_right()


def test_a_stale_django_save_of_an_event_cannot_overwrite_the_cache(make_event, hts):
    event = make_event()
    stale = Event.objects.get(pk=event.pk)  # loaded with empty lists
    EventActor.objects.create(event=event, faction=hts, role="actor1")
    stale.summary = "edited"
    stale.related = ["[1]", "[2]", "{}"]
    stale.save()
    Event.objects.filter(pk=event.pk).update(related=["x", "y", "z"])
    assert related_of(event)[0].startswith('[{"slug":"hts"')
    assert Event.objects.get(pk=event.pk).summary == "edited"
    assert_cache_is_right()


def test_deleting_an_event_with_related_rows_works(make_event, hts):
    event = make_event()
    EventActor.objects.create(event=event, faction=hts, role="actor1")
    event.sources.add(Source.objects.create(title="t"))
    ExternalId.objects.create(event=event, system="acled", value="SYR9")
    event.delete()
    assert not Event.objects.filter(pk=event.pk).exists()


def test_the_migration_backfill_writes_what_the_triggers_write(make_event, hts, saa):
    for i in range(5):
        event = make_event()
        EventActor.objects.create(event=event, faction=hts if i % 2 else saa, role="actor1")
        ExternalId.objects.create(event=event, system="acled", value=f"B{i}")
        if i % 3:
            event.sources.add(Source.objects.create(title=f"s{i}", url=f"https://e.org/{i}"))
    make_event()  # nothing related
    expected = cached()
    migration = importlib.import_module("conflictmap.events.migrations.0003_events_related_cache")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('conflictmap.related_refresh', 'on', true);"
            " UPDATE events_event SET related = ARRAY['[]', '[]', '{}'];"
            " SELECT set_config('conflictmap.related_refresh', 'off', true);"
        )
        assert set(map(tuple, cached().values())) == {("[]", "[]", "{}")}
        cursor.execute(migration.BACKFILL)
    assert cached() == expected
    assert_cache_is_right()


# --- the export reads the cache and writes the same bytes as before ------------------------------


@pytest.fixture
def varied_events(make_event, hts, saa):
    place = Place.objects.create(
        name="Tal Rifaat", name_ar="تل رفعت", geom=Point(37.0978, 36.4728, srid=4326)
    )
    sources = [
        Source.objects.create(url=f"https://example.org/{i}", publisher="P", title=f'T "{i}" \\')
        for i in range(3)
    ]
    made = []
    for i in range(12):
        event = make_event(
            date=dt.date(2024, 11, 27) + dt.timedelta(days=i),
            fatalities=None if i % 4 == 0 else i,
            place=place if i % 3 == 0 else None,
            sub_event_type="" if i % 5 == 0 else "Armed clash",
            summary=f'Event {i}: "quoted"\ttab\nnew line, ناس',
            location_name="Tal Rifaat",
        )
        if i % 2 == 0:
            EventActor.objects.create(event=event, faction=hts, role="actor1")
        if i % 3 != 2:
            EventActor.objects.create(event=event, faction=saa, role="actor2")
            EventActor.objects.create(event=event, faction=hts, role="assoc_actor_2")
        event.sources.add(*sources[: i % 4])
        if i % 2:
            ExternalId.objects.create(event=event, system="acled", value=f"SYR{i}")
            ExternalId.objects.create(event=event, system="ucdp", value=f"{i}")
        made.append(event)
    return made


def test_the_export_is_byte_identical_to_the_aggregating_query(varied_events, hts):
    for flt in (
        event_sql.EventFilter(),  # all events
        event_sql.EventFilter(staff=True),
        event_sql.EventFilter(start=dt.date(2024, 11, 30), end=dt.date(2024, 12, 4)),
        event_sql.EventFilter(actor_ids=[hts.pk]),
        event_sql.EventFilter(id_above=varied_events[5].pk),
    ):
        ours = exported(flt)
        assert ours, flt
        assert ours == reference_features(flt), flt


def test_the_export_command_writes_the_bytes_of_the_aggregating_query(varied_events, tmp_path):
    from django.core.management import call_command

    from conflictmap.geojson import feature_collection

    out = tmp_path / "events.geojson"
    call_command("export_geojson", "events", "--jobs", "1", "-o", str(out))
    expected = b"".join(feature_collection([reference_features(event_sql.EventFilter())]))
    assert out.read_bytes() == expected


def csv_bytes(query: Query) -> bytes:
    from conflictmap.api.views import csv_stream

    return b"".join(csv_stream(query))


def test_the_csv_export_reads_the_cache_and_writes_the_bytes_of_the_aggregating_query(
    varied_events, hts
):
    # Two ids in one system: a JSON object with a repeated key, each pair kept.
    ExternalId.objects.create(event=varied_events[1], system="acled", value="SYR1b")
    for flt in (
        event_sql.EventFilter(),
        event_sql.EventFilter(staff=True),
        event_sql.EventFilter(start=dt.date(2024, 11, 30), end=dt.date(2024, 12, 4)),
        event_sql.EventFilter(actor_ids=[hts.pk]),
    ):
        where, params = flt.where()
        reference = csv_bytes(Query(REFERENCE_CSV.format(where=where), params))
        assert csv_bytes(event_sql.csv_rows(flt)) == reference, flt
    assert b"acled:SYR1;acled:SYR1b;ucdp:1" in reference


def test_the_csv_export_applies_a_bulk_statement_inside_its_transaction(hts, saa):
    made = bulk_events(600, hts, saa)
    assert related_of(made[0])[0] == "[]"  # applied at commit, or by the export
    rows = [
        r for batch in rows_from_cursor(event_sql.csv_rows(event_sql.EventFilter())) for r in batch
    ]
    assert rows[0][0] == made[0].pk
    assert rows[0][7] == "hts:actor1;saa:actor2"
    assert rows[1][7] == "hts:actor1"
