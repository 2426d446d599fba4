"""Everything held about a contact, exported as JSON or erased in one transaction; only the
suppression hash of an address that unsubscribed, bounced or complained stays."""

import io
import json

import pytest
from django.core.management import CommandError, call_command
from wagtail.contrib.forms.models import FormSubmission

from tests import factories
from tests.segment_helpers import segment
from wagtail_segments.campaigns.models import StepLog
from wagtail_segments.contacts.identity import merge_contacts
from wagtail_segments.contacts.importing.importer import import_contacts
from wagtail_segments.messaging import consent
from wagtail_segments.messaging.models import Consent, Delivery, Suppression
from wagtail_segments.models import Contact, Event, Membership, Touchpoint
from wagtail_segments.privacy import erase_contact, export_contact, find_contact
from wagtail_segments.segments.manual import add_contacts

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(browser_client):
    """A contact with a bit of everything: a form submission, a merged-away visitor, tags,
    a membership, a campaign run with a step log, a delivery, a consent, a touchpoint."""
    page = factories.form_page("Contact")
    browser_client.get(factories.content_page().url)  # an anonymous visitor first
    browser_client.post(page.url, {"email": "ann@example.com", "first_name": "Ann", "message": "Call me"})
    contact = Contact.objects.get(email="ann@example.com")
    old = factories.contact()
    factories.event(old, path="/old/")
    merge_contacts(old, contact)
    contact.refresh_from_db()
    contact.tags.add("vip")
    add_contacts(segment(name="Newsletter", kind="static"), [contact])
    campaign = factories.campaign(name="Welcome")
    (first,) = factories.chain(campaign, ("wait", {"days": 1}))
    run = factories.run(campaign, contact)
    StepLog.objects.create(run=run, step=first, state="done")
    Delivery.objects.create(contact=contact, to_address="ann@example.com", subject="Hello", status="sent")
    Consent.objects.create(contact=contact, source="form", status="confirmed")
    Touchpoint.objects.create(contact=contact, kind="call", note="Called about pricing")
    return contact


def test_the_export_holds_everything_and_is_json(ann):
    data = export_contact(ann)
    assert json.loads(json.dumps(data)) == data
    assert data["contact"]["email"] == "ann@example.com" and data["contact"]["first_name"] == "Ann"
    assert data["contact"]["properties"] == {"message": "Call me"}
    assert data["tags"] == ["vip"]
    kinds = [event["kind"] for event in data["events"]]
    assert {"page_view", "form_submission", "merge", "segment_entered"} <= set(kinds)
    assert any(event["path"] == "/old/" for event in data["events"])
    assert len(data["merged_contacts"]) == 1  # the old row (the visitor took the email itself)
    assert [m["segment"] for m in data["memberships"]] == ["Newsletter"]
    (run,) = data["campaign_runs"]
    assert run["campaign"] == "Welcome" and run["steps"][0]["state"] == "done"
    assert data["deliveries"][0]["subject"] == "Hello"
    assert data["consents"][0]["status"] == "confirmed"
    assert data["touchpoints"][0]["note"] == "Called about pricing"
    assert data["suppressed"] is False


def test_erasing_deletes_everything_and_the_merged_away_rows(ann):
    family = [ann.pk, *Contact.objects.filter(merged_into=ann).values_list("pk", flat=True)]
    newsletter = Membership.objects.get(contact=ann).segment
    newsletter.refresh_from_db()
    assert newsletter.member_count == 1
    counts = erase_contact(ann)
    assert not Contact.objects.filter(pk__in=family).exists()
    for model in (Event, Membership, Delivery, Consent, Touchpoint, StepLog, FormSubmission):
        assert not model.objects.exists(), model
    assert not Suppression.objects.exists()  # never unsubscribed: nothing kept
    assert counts["contact"] == 2 and counts["form submissions"] == 1
    newsletter.refresh_from_db()
    assert newsletter.member_count == 0


def test_an_erased_unsubscribed_contact_imported_again_stays_do_not_email(ann):
    consent.unsubscribe(ann, source="link")
    erase_contact(ann)
    assert Suppression.objects.count() == 1 and Suppression.objects.get().reason == "unsubscribed"
    import_contacts(io.BytesIO(b"email\nAnn@Example.com\n"))
    again = Contact.objects.get(email="Ann@Example.com")
    assert (again.do_not_email, again.do_not_email_reason) == (True, "suppressed")
    assert not again.events.exists()


def test_a_bounced_contact_keeps_its_suppression_even_when_the_flag_was_cleared(ann):
    Event.objects.create(contact=ann, kind="email_bounced")
    erase_contact(ann)
    assert Suppression.objects.get().reason == "bounced"


def test_erasure_is_one_transaction(ann, monkeypatch):
    from wagtail_segments import privacy

    def fail(*args, **kwargs):
        raise RuntimeError("the database went away")

    consent.unsubscribe(ann, source="link")
    monkeypatch.setattr(privacy, "_form_submissions", fail)
    events = Event.objects.count()
    with pytest.raises(RuntimeError):
        erase_contact(ann)
    assert Contact.objects.filter(pk=ann.pk).exists() and Event.objects.count() == events


def test_contacts_are_found_by_email_public_id_or_id_following_merges(ann):
    old = Contact.objects.filter(merged_into=ann).first()
    assert find_contact(" ANN@example.com ") == ann
    assert find_contact(str(ann.uuid)) == ann
    assert find_contact(str(old.pk)) == ann
    assert find_contact("nobody@example.com") is None and find_contact("not-an-id") is None


def test_the_commands_export_to_a_file_and_erase_with_yes(ann, tmp_path):
    target = tmp_path / "ann.json"
    call_command("export_contact", "ann@example.com", "--output", str(target), stderr=io.StringIO())
    assert json.loads(target.read_text())["contact"]["email"] == "ann@example.com"
    printed = io.StringIO()
    call_command("export_contact", str(ann.uuid), stdout=printed)
    assert json.loads(printed.getvalue())["tags"] == ["vip"]

    with pytest.raises(CommandError, match="--yes"):
        call_command("erase_contact", "ann@example.com")
    assert Contact.objects.filter(pk=ann.pk).exists()
    out = io.StringIO()
    call_command("erase_contact", "ann@example.com", "--yes", stdout=out)
    assert "Erased" in out.getvalue() and not Contact.objects.filter(pk=ann.pk).exists()
    with pytest.raises(CommandError, match="No contact"):
        call_command("export_contact", "ann@example.com")
