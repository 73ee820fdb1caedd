"""The editorial workflow in the admin: roles (editor, publisher), publishing rules, a reason on
every change, bulk actions, and a history entry's page with its revert."""

from __future__ import annotations

import datetime as dt
import json
import os
import re

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from conflictmap.events.models import Event, Source
from conflictmap.territory.editorial import ensure_roles
from conflictmap.territory.models import Faction, Status, Zone, ZoneVersion
from tests.conftest import square

pytestmark = pytest.mark.django_db
# Playwright's sync API runs an event loop in this thread (see tests/territory/test_admin_context).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHANGELIST = "admin:territory_zoneversion_changelist"


def signed_in(client, django_user_model, role: str):
    ensure_roles()  # a browser test's flush empties the groups the migration made
    user = django_user_model.objects.create_user(role, password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def editor(client, django_user_model):
    return signed_in(client, django_user_model, "editor")


@pytest.fixture
def publisher(client, django_user_model):
    return signed_in(client, django_user_model, "publisher")


@pytest.fixture
def source(db):
    return Source.objects.create(url="https://example.org/sohr-1", title="SOHR, 30 Nov")


@pytest.fixture
def draft(make_version, source):
    version = make_version(status=Status.DRAFT, note="first")
    version.sources.add(source)
    return version


def form_data(version: ZoneVersion, **changes) -> dict:
    """The change form of `version` as a browser would post it."""
    data = {
        "zone": version.zone_id,
        "faction": version.faction_id,
        "valid_from": version.valid_from.isoformat(),
        "valid_to": version.valid_to.isoformat() if version.valid_to else "",
        "confidence": version.confidence,
        "status": version.status,
        "geom": version.geom.geojson,
        "sources": [s.pk for s in version.sources.all()],
        "note": version.note,
        "change_reason": "checked against the SOHR map",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def change(client, version: ZoneVersion, **changes):
    url = reverse("admin:territory_zoneversion_change", args=[version.pk])
    return client.post(url, form_data(version, **changes))


def run_action(client, action: str, objects, url=CHANGELIST, **data):
    payload = {"action": action, "_selected_action": [o.pk for o in objects], **data}
    return client.post(reverse(url), payload, follow=True)


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def status_of(obj) -> str:
    return type(obj).objects.values_list("status", flat=True).get(pk=obj.pk)


# --- roles ---------------------------------------------------------------------------------------


def test_the_migration_makes_an_editor_and_a_publisher_group():
    if not Group.objects.exists():  # emptied by a browser test's flush: the migration's own
        ensure_roles()
    editor = set(Group.objects.get(name="editor").permissions.values_list("codename", flat=True))
    publisher = set(
        Group.objects.get(name="publisher").permissions.values_list("codename", flat=True)
    )
    for codename in ("add_event", "change_event", "add_zoneversion", "change_zoneversion",
                     "change_zone", "add_source", "change_candidate"):  # fmt: skip
        assert codename in editor, codename
    assert "publish_event" not in editor and "publish_zoneversion" not in editor
    assert publisher - editor == {"publish_event", "publish_zoneversion"}
    assert not {"delete_event", "delete_zoneversion", "change_faction"} & publisher


# --- an editor cannot publish ---------------------------------------------------------------------


def test_an_editor_sees_the_status_read_only_and_a_forged_status_is_ignored(editor, draft):
    page = editor.get(reverse("admin:territory_zoneversion_change", args=[draft.pk]))
    assert page.status_code == 200
    assert b'name="status"' not in page.content  # not a field of the form: read-only

    response = change(editor, draft, status="published", note="edited by the editor")
    assert response.status_code == 302, response.content[:2000]
    draft.refresh_from_db()
    assert draft.note == "edited by the editor" and draft.status == Status.DRAFT


def test_an_editor_is_not_offered_publish_or_retract_and_posting_them_does_nothing(editor, draft):
    page = editor.get(reverse(CHANGELIST))
    assert b'value="publish"' not in page.content and b'value="retract"' not in page.content
    assert b'value="set_confidence"' in page.content
    for action in ("publish", "retract"):
        run_action(editor, action, [draft], apply="1", reason="trying anyway")
        assert status_of(draft) == Status.DRAFT


def test_an_editor_cannot_change_or_revert_a_published_record(editor, make_version, source):
    published = make_version(note="public")
    published.sources.add(source)
    response = change(editor, published, note="quietly changed")
    assert response.status_code == 403
    published.refresh_from_db()
    assert published.note == "public"
    record = published.history.earliest()
    url = reverse("admin:territory_zoneversion_simple_history", args=[published.pk, record.pk])
    assert editor.post(url, {"reason": "revert"}).status_code == 403
    # Bulk changes leave it out too.
    run_action(editor, "set_confidence", [published], apply="1", reason="x", confidence="claimed")
    assert ZoneVersion.objects.get(pk=published.pk).confidence == "confirmed"


def test_an_editors_new_version_from_a_date_cannot_choose_a_status(editor, draft):
    response = run_action(
        editor, "new_version_from_date", [draft], apply="1", day="2024-12-01",
        status="published", reason="front moved",
    )  # fmt: skip
    assert response.status_code == 200
    new = ZoneVersion.objects.exclude(pk=draft.pk).get()
    assert new.status == Status.DRAFT
    assert new.history.latest().history_change_reason == "front moved"


def test_no_api_endpoint_takes_a_write_from_an_editor(editor, draft):
    for path in ("zones", "events", "changes", "frontlines", "factions", "places", "extent"):
        response = editor.post(f"/api/v1/{path}", {"status": "published", "id": draft.pk})
        assert response.status_code == 405, path
    assert status_of(draft) == Status.DRAFT


# --- a publisher publishes -----------------------------------------------------------------------


def test_a_publisher_publishes_with_a_reason_and_history_says_who_and_why(publisher, draft):
    response = run_action(publisher, "publish", [draft])
    assert b"Reason for this change" in response.content  # asks first
    assert status_of(draft) == Status.DRAFT

    response = run_action(publisher, "publish", [draft], apply="1", reason="two sources agree")
    assert status_of(draft) == Status.PUBLISHED
    latest = draft.history.latest()
    assert latest.history_change_reason == "two sources agree"
    assert latest.history_user == publisher.user and latest.status == Status.PUBLISHED

    run_action(publisher, "retract", [draft], apply="1", reason="the source withdrew it")
    assert status_of(draft) == Status.RETRACTED
    assert draft.history.latest().history_change_reason == "the source withdrew it"


def test_publishing_without_a_source_is_refused_saying_what_is_missing(publisher, make_version):
    bare = make_version(status=Status.DRAFT)
    response = run_action(publisher, "publish", [bare], apply="1", reason="looks right")
    assert status_of(bare) == Status.DRAFT
    assert any("Cannot publish without at least one source" in m for m in messages_of(response))

    response = change(publisher, bare, status="published")
    assert response.status_code == 200  # the form again, with the error
    assert "Cannot publish without at least one source." in response.content.decode()
    assert status_of(bare) == Status.DRAFT


def test_a_publisher_publishes_through_the_change_form(publisher, draft):
    response = change(publisher, draft, status="published")
    assert response.status_code == 302
    assert status_of(draft) == Status.PUBLISHED


def test_a_publisher_publishes_and_retracts_events_too(publisher, make_event, source):
    event = make_event(status=Status.DRAFT)
    event.sources.add(source)
    url = "admin:events_event_changelist"
    run_action(publisher, "publish", [event], url=url, apply="1", reason="confirmed by SOHR")
    assert status_of(event) == Status.PUBLISHED
    run_action(publisher, "retract", [event], url=url, apply="1", reason="duplicate")
    assert status_of(event) == Status.RETRACTED
    assert [r.history_change_reason for r in event.history.order_by("history_id")][-2:] == [
        "confirmed by SOHR",
        "duplicate",
    ]


# --- every change carries a reason ----------------------------------------------------------------


def test_a_change_without_a_reason_is_refused_and_nothing_changes(editor, draft):
    response = change(editor, draft, note="no reason given", change_reason="")
    assert response.status_code == 200 and b"This field is required" in response.content
    draft.refresh_from_db()
    assert draft.note == "first"


def test_a_change_with_a_reason_leaves_a_history_row_with_it(editor, draft):
    change(editor, draft, note="second", change_reason="typo in the note")
    latest = draft.history.latest()
    assert (latest.note, latest.history_change_reason) == ("second", "typo in the note")
    assert latest.history_user == editor.user


@pytest.mark.parametrize(
    "model,data",
    [
        ("zone", {"name": "Tell Rifaat pocket", "slug": "tell-rifaat",
                  "versions-TOTAL_FORMS": 0, "versions-INITIAL_FORMS": 0}),
        ("faction", {"name": "Test faction", "slug": "test-faction", "colour": "#112233",
                     "kind": "other", "aliases": ""}),
        ("source", {"url": "https://example.org/new", "title": "New source"}),
    ],
)  # fmt: skip
def test_zones_factions_and_sources_ask_for_a_reason_too(admin_client, model, data):
    app = "events" if model == "source" else "territory"
    url = reverse(f"admin:{app}_{model}_add")
    refused = admin_client.post(url, data)
    assert refused.status_code == 200 and b"This field is required" in refused.content
    response = admin_client.post(url, {**data, "change_reason": "new in the SOHR map"})
    assert response.status_code == 302, response.content[:3000]
    model_class = {"zone": Zone, "faction": Faction, "source": Source}[model]
    (record,) = model_class.history.all()
    assert record.history_change_reason == "new in the SOHR map"


# --- bulk actions ---------------------------------------------------------------------------------


def test_bulk_confidence_and_source_with_a_reason(editor, draft, make_version):
    other = make_version(status=Status.DRAFT)
    new_source = Source.objects.create(url="https://example.org/isw", title="ISW map")
    run_action(editor, "set_confidence", [draft, other], apply="1", reason="one side only",
               confidence="claimed")  # fmt: skip
    assert set(ZoneVersion.objects.values_list("confidence", flat=True)) == {"claimed"}
    run_action(editor, "attach_source", [draft, other], apply="1", reason="ISW agrees",
               source=new_source.pk)  # fmt: skip
    for version in (draft, other):
        assert new_source in version.sources.all()
        assert version.history.latest().history_change_reason == "ISW agrees"
    refused = run_action(editor, "set_confidence", [other], apply="1", confidence="contested")
    assert b"This field is required" in refused.content
    assert ZoneVersion.objects.get(pk=other.pk).confidence == "claimed"


@pytest.mark.parametrize(
    "action, intro, submit",
    [
        ("set_confidence", "each keeps a history entry", 'value="Set confidence"'),
        ("new_version_from_date", "an edited copy opens on that date",
         'value="Close and open the new version"'),
    ],
)  # fmt: skip
def test_the_actions_that_ask_first_share_one_page_layout(editor, draft, action, intro, submit):
    """admin/action_form.html: the breadcrumbs, the records listed, the form, the selection sent
    back with apply=1; each action says what it does and names its button."""
    html = run_action(editor, action, [draft]).content.decode()
    assert intro in html and submit in html
    assert re.search(
        r'<ul class="cm-action-objects">\s*<li>[^<]*' + re.escape(str(draft.zone)), html
    )
    assert f'name="_selected_action" value="{draft.pk}"' in html
    assert f'name="action" value="{action}"' in html and 'name="apply" value="1"' in html
    assert 'class="breadcrumbs"' in html and "cancel-link" in html
    assert ZoneVersion.objects.count() == 1 and ZoneVersion.objects.get().confidence == "confirmed"


# --- history and revert --------------------------------------------------------------------------


def test_a_revert_restores_geometry_fields_and_sources_as_a_new_history_entry(
    publisher, draft, source
):
    first = draft.history.latest()
    other_source = Source.objects.create(url="https://example.org/2", title="Other")
    change(
        publisher, draft, geom=square(38.0, 36.0, 0.3).geojson, note="moved", confidence="claimed",
        sources=[other_source.pk], change_reason="new frontline reported",
    )  # fmt: skip
    draft.refresh_from_db()
    assert draft.note == "moved" and list(draft.sources.all()) == [other_source]

    url = reverse("admin:territory_zoneversion_simple_history", args=[draft.pk, first.pk])
    page = publisher.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Revert to this state" in html and "/static/js/admin/history.js" in html
    assert "<script>" not in html.split("</head>")[1]  # no inline script in the page body
    geoms = json.loads(
        re.search(r'id="cm-history-geoms" type="application/json">(.*?)</script>', html).group(1)
    )
    assert geoms["then"]["type"] == "MultiPolygon" and geoms["now"] != geoms["then"]
    for expected in ("first", "moved", "claimed"):
        assert expected in html

    refused = publisher.post(url, {"reason": ""})
    assert refused.status_code == 200
    response = publisher.post(url, {"reason": "the move was not confirmed"})
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.geom.equals_exact(first.geom, 1e-9)
    assert (draft.note, draft.confidence) == ("first", "confirmed")
    assert list(draft.sources.all()) == [source]
    latest = draft.history.latest()
    assert latest.history_change_reason == "the move was not confirmed"
    assert latest.history_user == publisher.user


def test_the_history_page_draws_both_geometries_in_chromium(admin_page, make_version):
    page = admin_page
    version = ZoneVersion.objects.filter(status=Status.PUBLISHED).first()
    first = version.history.earliest()
    version.geom = square(38.0, 36.0, 0.3)
    version._change_reason = "redrawn"
    version.save()
    url = reverse("admin:territory_zoneversion_simple_history", args=[version.pk, first.pk])
    page.goto(page.base + url)
    page.wait_for_selector('#cm-history-map[data-cm-history="ready"]', timeout=20000)
    assert page.locator("#cm-history-map").get_attribute("data-cm-layers") == "2"
    assert page.locator("#cm-history-map path.leaflet-interactive").count() == 2
    assert page.errors == []


@pytest.fixture
def admin_page(browser, live_server, transactional_db, django_user_model, make_version):
    from urllib.parse import urlparse

    make_version(valid_from=dt.date(2024, 11, 26))
    django_user_model.objects.create_superuser("chief", "chief@example.org", "pw")
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    host = urlparse(live_server.url).netloc
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.route(
        "**/*",
        lambda route: (
            route.continue_() if urlparse(route.request.url).netloc == host else route.abort()
        ),
    )
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "chief")
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    page.errors, page.base = errors, live_server.url
    yield page
    context.close()


def test_events_use_the_same_rules(editor, make_event, source):
    event = make_event(status=Status.DRAFT)
    event.sources.add(source)
    run_action(editor, "publish", [event], url="admin:events_event_changelist", apply="1",
               reason="x")  # fmt: skip
    assert Event.objects.get(pk=event.pk).status == Status.DRAFT


def test_a_new_version_published_from_a_date_needs_a_source(publisher, make_version):
    bare = make_version(status=Status.DRAFT)
    response = run_action(
        publisher, "new_version_from_date", [bare], apply="1", day="2024-12-01",
        status="published", reason="front moved",
    )  # fmt: skip
    assert any("Cannot publish without at least one source" in m for m in messages_of(response))
    assert ZoneVersion.objects.count() == 1


def test_load_demo_writes_its_reason_into_every_history_row(db):
    from django.core.management import call_command

    call_command("load_demo", "--reason", "demo for the newsroom", verbosity=0, stdout=None)
    reasons = set(ZoneVersion.history.values_list("history_change_reason", flat=True))
    assert reasons == {"demo for the newsroom"}
    assert set(Event.history.values_list("history_change_reason", flat=True)) == reasons
