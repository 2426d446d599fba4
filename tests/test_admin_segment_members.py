"""The segments listing's reminder dot and the members screen: the member list with how each
came in, add and remove by hand, CSV import as a task with its per-row report, CSV export,
the expired members and the size chart; each behind its permission, member changes audited."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from wagtail.models import ModelLogEntry

from tests import factories
from tests.admin_helpers import editor
from wagtail_segments.admin.segment_views import run_import_task
from wagtail_segments.contacts.models import Contact
from wagtail_segments.segments.manual import add_contacts
from wagtail_segments.segments.models import Membership, Segment, SegmentDailyCount

pytestmark = pytest.mark.django_db

LISTING = "/admin/wagtail_segments/segment/"


def members(segment, name: str = "") -> str:
    return f"/admin/marketing/segments/{segment.pk}/members/{name + '/' if name else ''}"


@pytest.fixture
def fair():
    segment = Segment.objects.create(name="Fair visitors", slug="fair", kind=Segment.Kind.STATIC)
    ann = factories.contact(email="ann@example.com")
    add_contacts(segment, [ann])
    return segment


def test_the_listing_shows_reminder_segments_with_a_dot_and_words(admin_client, fair):
    late = Segment.objects.create(name="Customers", slug="customers", kind=Segment.Kind.STATIC, reminder_days=30)
    stale = factories.contact(email="stale@example.com")
    Membership.objects.create(segment=late, contact=stale, source="manual",
                              added_at=timezone.now() - datetime.timedelta(days=100))
    Segment.objects.create(name="Partners", slug="partners", kind=Segment.Kind.STATIC, reminder_days=30)
    html = admin_client.get(LISTING).content.decode()
    assert 'wsg-dot--late' in html and "1 expired member" in html
    assert 'wsg-dot--ok' in html and "All touched in time" in html
    assert f'href="{members(fair)}"' in html


def test_the_members_screen_lists_members_with_how_and_shows_the_size_chart(admin_client, fair):
    for days, count in ((2, 3), (1, 5)):
        SegmentDailyCount.objects.create(segment=fair, date=timezone.localdate() - datetime.timedelta(days=days),
                                         count=count)
    html = admin_client.get(members(fair)).content.decode()
    assert "ann@example.com" in html and "Added by hand" in html
    assert "<svg" in html and "<polyline" in html and "Members of “Fair visitors” by day" in html
    assert "<td>3</td>" in html and "<td>5</td>" in html  # the numbers, as a table


def test_adding_and_removing_by_hand_is_audited(client, fair):
    user = editor("clerk", "change_segment")
    client.force_login(user)
    bob = factories.contact(email="bob@example.com")
    client.post(members(fair, "add"), {"email": "BOB@example.com"})
    assert set(fair.members().values_list("email", flat=True)) == {"ann@example.com", "bob@example.com"}
    client.post(members(fair, "remove"), {"contact": bob.pk})
    assert list(fair.members().values_list("email", flat=True)) == ["ann@example.com"]
    actions = list(ModelLogEntry.objects.filter(user=user).values_list("action", flat=True))
    assert sorted(actions) == ["wagtail_segments.members_added", "wagtail_segments.members_removed"]


def test_a_viewer_sees_members_but_may_not_change_import_export_or_rebuild(client, fair):
    client.force_login(editor("viewer", "view_segment"))
    html = client.get(members(fair)).content.decode()
    assert "ann@example.com" in html and "Import a CSV" not in html and "Export as CSV" not in html
    assert client.post(members(fair, "add"), {"email": "ann@example.com"}).status_code == 403
    assert client.post(members(fair, "remove"), {"contact": 1}).status_code == 403
    assert client.post(f"/admin/marketing/segments/{fair.pk}/rebuild/").status_code == 403
    assert client.get(f"/admin/marketing/segments/{fair.pk}/export/").status_code == 403
    assert client.post(f"/admin/marketing/segments/{fair.pk}/import/").status_code == 403
    assert fair.members().count() == 1
    client.force_login(editor("nobody"))
    assert client.get(members(fair)).status_code == 403


def test_export_streams_the_members_as_csv_and_is_audited(client, fair):
    user = editor("dpo", "view_segment", "export_contacts")
    client.force_login(user)
    response = client.get(f"/admin/marketing/segments/{fair.pk}/export/")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert body.splitlines()[0].startswith("email") and "ann@example.com" in body
    assert ModelLogEntry.objects.get(action="wagtail_segments.contacts_exported").user == user


def test_an_import_runs_as_a_task_and_reports_its_bad_rows(admin_client, fair, monkeypatch):
    queued = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda func, *args, **kwargs: queued.append(args))
    upload = SimpleUploadedFile("people.csv", b"email,first_name\ncid@example.com,Cid\nnot-an-email,X\ndee@example.com,Dee\n")
    response = admin_client.post(f"/admin/marketing/segments/{fair.pk}/import/", {"file": upload, "update_existing": "on"})
    assert response.status_code == 302 and not Contact.objects.filter(email="cid@example.com").exists()
    assert "rows read so far" in admin_client.get(response.url).content.decode()

    assert run_import_task(*queued[0]) == 2

    html = admin_client.get(response.url).content.decode()
    assert "2 contacts added to segment" in html
    assert "<td>3</td>" in html and "Error: not imported" in html  # line 3, the bad address
    assert set(fair.members().values_list("email", flat=True)) == {"ann@example.com", "cid@example.com", "dee@example.com"}


def test_rebuild_now_queues_the_rebuild(admin_client, monkeypatch):
    queued = []
    monkeypatch.setattr("wagtail_segments.admin.segment_views.enqueue", lambda *args: queued.append(args))
    dynamic = Segment.objects.create(name="Dyn", slug="dyn", kind=Segment.Kind.DYNAMIC)
    assert "Rebuild now" in admin_client.get(members(dynamic)).content.decode()
    admin_client.post(f"/admin/marketing/segments/{dynamic.pk}/rebuild/")
    assert queued == [("wagtail_segments.segments.tasks.rebuild_segment_by_id", dynamic.pk)]
