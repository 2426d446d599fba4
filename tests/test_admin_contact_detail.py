"""The contact detail screen: what the package knows about a contact, tags edited in place,
a manual touchpoint, export as JSON and erasure after a confirmation; each behind its
permission, with the export and the erasure in the audit log."""

import json

import pytest
from wagtail.models import ModelLogEntry

from tests import factories
from tests.admin_helpers import editor
from tests.segment_helpers import segment
from wagtail_segments.contacts.models import Contact, Event, Touchpoint
from wagtail_segments.messaging.models import Consent
from wagtail_segments.segments.manual import add_contacts

pytestmark = pytest.mark.django_db


def detail(contact) -> str:
    return f"/admin/wagtail_segments/contact/inspect/{contact.pk}/"


def action(contact, name: str) -> str:
    return f"/admin/marketing/contacts/{contact.pk}/{name}/"


@pytest.fixture
def ann():
    return factories.contact(email="ann@example.com", first_name="Ann", points=12, properties={"seats": 4})


def test_the_detail_shows_segments_consents_runs_and_form_answers_under_their_labels(admin_client, ann):
    static = segment(kind="static", name="Trade fair", build=False)
    add_contacts(static, [ann])
    Consent.objects.create(contact=ann, status=Consent.Status.CONFIRMED, source="newsletter form")
    campaign = factories.campaign(name="Welcome series")
    factories.chain(campaign, ("wait", {"days": 2}))
    factories.run(campaign, ann)
    form = factories.form_page("Newsletter", fields=[("Your interest", "singleline"), ("Email", "email")])
    factories.event(ann, "form_submission", page=form, data={
        "form_page": form.pk, "form_title": "Newsletter", "answers": {"your_interest": "Demo", "email": "ann@example.com"},
    })
    pricing = factories.content_page("Pricing")
    factories.event(ann, "page_view", page=pricing, path="/pricing/")

    html = admin_client.get(detail(ann)).content.decode()

    assert "Trade fair" in html and "Added by hand" in html
    assert "Confirmed" in html and "newsletter form" in html
    assert "Welcome series" in html
    assert "Submitted “Newsletter”" in html
    assert "<dt>Your interest</dt><dd class=\"wsg-answer\">Demo</dd>" in html
    assert "your_interest" not in html
    assert "Viewed “Pricing”" in html
    assert html.index("Viewed “Pricing”") < html.index("Submitted “Newsletter”")  # newest first


def test_the_timeline_is_paginated_newest_first(admin_client, ann):
    from datetime import timedelta

    from django.utils import timezone

    start = timezone.now() - timedelta(days=1)
    Event.objects.bulk_create([
        Event(contact=ann, kind="custom", time=start + timedelta(minutes=n), data={"name": f"step {n}", "data": {}})
        for n in range(60)
    ])
    first = admin_client.get(detail(ann)).content.decode()
    second = admin_client.get(detail(ann) + "?p=2").content.decode()
    assert "“step 59”" in first and "“step 10”" in first and "“step 9”" not in first
    assert "Page 1 of 2" in first and "“step 9”" in second and "“step 0”" in second
    assert 'href="?p=2#timeline-heading">Older</a>' in first  # lands back on the timeline


def test_an_editor_with_change_permission_edits_tags_and_logs_a_call(client, ann):
    client.force_login(editor("clerk", "view_contact", "change_contact"))
    html = client.get(detail(ann)).content.decode()
    assert "Save tags" in html and "Log touchpoint" in html
    assert "Export everything as JSON" not in html and "Erase this contact" not in html

    client.post(action(ann, "tags"), {"tags": "fair, vip"})
    client.post(action(ann, "touchpoint"), {"kind": "call", "note": "Asked about <pricing>"})

    assert sorted(ann.tags.names()) == ["fair", "vip"]
    touchpoint = Touchpoint.objects.get(contact=ann)
    assert touchpoint.kind == "call" and touchpoint.user.username == "clerk"
    html = client.get(detail(ann)).content.decode()
    assert "Touchpoint: call" in html and "Asked about &lt;pricing&gt;" in html


def test_a_viewer_may_not_tag_log_export_or_erase(client, ann):
    client.force_login(editor("viewer", "view_contact"))
    html = client.get(detail(ann)).content.decode()
    assert "Save tags" not in html and "Log touchpoint" not in html
    assert client.post(action(ann, "tags"), {"tags": "x"}).status_code == 403
    assert client.post(action(ann, "touchpoint"), {"kind": "call"}).status_code == 403
    assert client.get(action(ann, "export")).status_code == 403
    assert client.get(action(ann, "erase")).status_code == 403
    assert client.post(action(ann, "erase")).status_code == 403
    assert not ann.tags.exists() and not Touchpoint.objects.exists() and Contact.objects.filter(pk=ann.pk).exists()


def test_export_downloads_everything_as_json_and_is_audited(client, ann):
    user = editor("dpo", "view_contact", "export_contacts")
    client.force_login(user)
    factories.event(ann, "page_view", path="/about/")
    response = client.get(action(ann, "export"))
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    data = json.loads(b"".join(response))
    assert data["contact"]["email"] == "ann@example.com" and len(data["events"]) == 1
    entry = ModelLogEntry.objects.get(action="wagtail_segments.contact_exported")
    assert entry.user == user and entry.object_id == str(ann.pk)


def test_erasure_says_what_goes_then_erases_and_logs_without_personal_data(client, ann):
    user = editor("dpo", "view_contact", "erase_contact")
    client.force_login(user)
    for _ in range(3):
        factories.event(ann, "page_view", path="/about/")
    Consent.objects.create(contact=ann, status=Consent.Status.CONFIRMED, source="form")

    confirm = client.get(action(ann, "erase")).content.decode()
    assert "3 events on the timeline" in confirm and "Yes, erase everything" in confirm
    assert "<li>1 consent</li>" in confirm
    assert Contact.objects.filter(pk=ann.pk).exists()

    response = client.post(action(ann, "erase"))
    assert response.status_code == 302
    assert not Contact.objects.filter(pk=ann.pk).exists() and not Event.objects.exists()
    entry = ModelLogEntry.objects.get(action="wagtail_segments.contact_erased")
    assert entry.user == user
    logged = json.dumps(entry.data) + entry.label
    assert "ann" not in logged.lower() and "example.com" not in logged


def test_the_detail_words_the_stored_do_not_contact_reasons_and_consent_sources(admin_client, ann):
    Contact.objects.filter(pk=ann.pk).update(do_not_email=True, do_not_email_reason="unsubscribed (one-click)",
                                             do_not_sms=True, do_not_sms_reason="asked on the phone")
    Consent.objects.create(contact=ann, status=Consent.Status.WITHDRAWN, source="preference page")

    html = admin_client.get(detail(ann)).content.decode()

    assert "<div>Email: unsubscribed (one-click unsubscribe in the email)</div>" in html
    assert "<div>SMS: asked on the phone</div>" in html  # typed by staff: shown as typed
    assert "<td>preference page</td>" in html
