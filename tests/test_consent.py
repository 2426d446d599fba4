"""Consent and suppression: double opt-in (request, confirm, re-consent after an unsubscribe),
forms that ask for it, and suppressed addresses flagged wherever a contact comes back."""

import datetime
import io
import re

import pytest
from django.core import mail
from django.utils import timezone

from tests import factories
from wagtail_segments.contacts.importing.importer import import_contacts
from wagtail_segments.messaging import consent
from wagtail_segments.messaging.links import confirm_url, sign, unsign
from wagtail_segments.messaging.models import Consent, Delivery, Suppression, email_hash
from wagtail_segments.models import Contact, Event

pytestmark = pytest.mark.django_db


def link_in(message) -> str:
    (url,) = set(re.findall(r"https?://\S+/confirm/\S+/", message.body))
    return url


def test_request_confirmation_mails_a_signed_link_and_leaves_consent_pending():
    ann = factories.contact(email="ann@example.com", first_name="Ann")
    page = factories.form_page("Newsletter")
    made = consent.request_confirmation(ann, source="form", form_page=page)
    assert made.status == Consent.Status.PENDING and made.form_page_id == page.pk and made.source == "form"
    (message,) = mail.outbox
    assert message.to == ["ann@example.com"]
    url = link_in(message)
    assert unsign("confirm", url.rstrip("/").rsplit("/", 1)[1]) == [str(ann.uuid), "email"]
    assert url in message.alternatives[0][0]  # the HTML part has it too
    delivery = Delivery.objects.get(contact=ann)
    assert (delivery.purpose, delivery.status) == ("transactional", "sent")


def test_confirming_records_when_and_where_and_twice_changes_nothing(client):
    ann = factories.contact(email="ann@example.com")
    page = factories.form_page("Newsletter")
    consent.request_confirmation(ann, source="form", form_page=page)
    url = link_in(mail.outbox[0])
    shown = client.get(url)
    assert shown.status_code == 200 and b"Yes, subscribe me" in shown.content
    assert Consent.objects.get().status == Consent.Status.PENDING  # a scanner's GET confirms nothing

    assert client.post(url).status_code == 200
    confirmed = Consent.objects.get()
    assert confirmed.status == Consent.Status.CONFIRMED and confirmed.confirmed_at is not None
    assert (confirmed.source, confirmed.form_page_id) == ("form", page.pk)
    first = confirmed.confirmed_at

    again = client.post(url)
    assert again.status_code == 200
    assert Consent.objects.get().confirmed_at == first
    assert Event.objects.filter(contact=ann, kind="consent_confirmed").count() == 1
    assert b"already confirmed" in client.get(url).content


def test_a_tampered_confirmation_link_is_refused_and_changes_nothing(client):
    ann = factories.contact(email="ann@example.com")
    consent.request_confirmation(ann, source="form")
    url = link_in(mail.outbox[0])
    token = url.rstrip("/").rsplit("/", 1)[1]
    forged = url.replace(token, token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    response = client.post(forged)
    assert response.status_code == 400
    assert b"This link is not valid" in response.content
    assert Consent.objects.get().status == Consent.Status.PENDING
    # a preference link is not a confirmation link: one salt per purpose
    preference_token = sign("preferences", str(ann.uuid))
    assert client.post(f"/_segments/confirm/{preference_token}/").status_code == 400


def test_an_unsubscribed_contact_who_confirms_a_fresh_request_may_be_mailed_again(client):
    ann = factories.contact(email="ann@example.com")
    consent.request_confirmation(ann, source="form")
    client.post(link_in(mail.outbox[0]))
    consent.unsubscribe(ann, source="link")
    ann.refresh_from_db()
    assert ann.do_not_email and consent.is_suppressed("ann@example.com")
    assert Consent.objects.get().status == Consent.Status.WITHDRAWN

    assert consent.request_confirmation(ann, source="preference page") is not None
    client.post(link_in(mail.outbox[-1]))
    ann.refresh_from_db()
    assert not ann.do_not_email and ann.do_not_email_reason == ""
    assert not consent.is_suppressed("ann@example.com")
    again = Consent.objects.get()
    assert again.status == Consent.Status.CONFIRMED and again.withdrawn_at is None
    assert "previously_withdrawn_at" in again.details


def test_an_old_confirmation_link_never_undoes_a_later_unsubscribe(client):
    ann = factories.contact(email="ann@example.com")
    consent.request_confirmation(ann, source="form")
    old_link = link_in(mail.outbox[0])
    client.post(old_link)
    consent.unsubscribe(ann, source="link")
    response = client.post(old_link)
    assert response.status_code == 200 and b"You have unsubscribed since" in response.content
    ann.refresh_from_db()
    assert ann.do_not_email and consent.is_suppressed("ann@example.com")
    assert Consent.objects.get().status == Consent.Status.WITHDRAWN
    assert consent.confirm_consent(ann) is False


@pytest.mark.parametrize("reason", ["bounced", "complained", "staff: asked by phone"])
def test_a_confirmation_never_lifts_a_bounce_a_complaint_or_a_staff_block(client, reason):
    ann = factories.contact(email="ann@example.com")
    if reason in ("bounced", "complained"):
        consent.stop_email(ann, reason)
    else:
        Contact.objects.filter(pk=ann.pk).update(do_not_email=True, do_not_email_reason=reason)
        ann.refresh_from_db()
    assert consent.request_confirmation(ann, source="form") is None
    assert mail.outbox == []
    # an old link still records the person's act, but the block stays
    client.post(confirm_url(ann))
    ann.refresh_from_db()
    assert ann.do_not_email and ann.do_not_email_reason == reason
    assert Consent.objects.get().status == Consent.Status.CONFIRMED
    assert consent.is_suppressed("ann@example.com") == (reason in ("bounced", "complained"))


def test_a_confirmation_is_not_mailed_again_within_minutes_nor_once_confirmed(client):
    ann = factories.contact(email="ann@example.com")
    assert consent.request_confirmation(ann, source="form") is not None
    assert consent.request_confirmation(ann, source="form") is None
    assert len(mail.outbox) == 1
    pending = Consent.objects.get()
    pending.details["mailed_at"] = (timezone.now() - datetime.timedelta(minutes=11)).isoformat()
    pending.save()
    assert consent.request_confirmation(ann, source="form") is not None
    assert len(mail.outbox) == 2
    client.post(confirm_url(ann))
    assert consent.request_confirmation(ann, source="form").status == Consent.Status.CONFIRMED
    assert len(mail.outbox) == 2
    assert consent.request_confirmation(factories.contact(), source="form") is None  # no address


def test_a_form_with_the_double_opt_in_field_ticked_mails_a_confirmation(
    browser_client, settings, django_capture_on_commit_callbacks,
):
    settings.WAGTAIL_SEGMENTS = {"DOUBLE_OPT_IN_FIELD": "newsletter"}
    page = factories.form_page("Sign up", fields=[("Email", "email"), ("Newsletter", "checkbox")])
    with django_capture_on_commit_callbacks(execute=True):
        browser_client.post(page.url, {"email": "bob@example.com"})
    assert mail.outbox == []  # not ticked: nothing asked
    with django_capture_on_commit_callbacks(execute=True):
        browser_client.post(page.url, {"email": "ann@example.com", "newsletter": "on"})
    (message,) = mail.outbox
    assert message.to == ["ann@example.com"]
    pending = Consent.objects.get()
    assert pending.contact.email == "ann@example.com" and pending.form_page_id == page.pk


def test_a_page_may_ask_every_submitter(browser_client, django_capture_on_commit_callbacks, monkeypatch):
    page = factories.form_page("Sign up", fields=[("Email", "email")])
    monkeypatch.setattr(type(page), "segments_double_opt_in", True, raising=False)
    with django_capture_on_commit_callbacks(execute=True):
        browser_client.post(page.url, {"email": "ann@example.com"})
    assert [m.to for m in mail.outbox] == [["ann@example.com"]]


def test_a_failing_email_backend_never_fails_the_visitors_submission(
    browser_client, settings, django_capture_on_commit_callbacks,
):
    settings.WAGTAIL_SEGMENTS = {"DOUBLE_OPT_IN_FIELD": "newsletter"}
    settings.EMAIL_BACKEND = "tests.test_consent.FailingBackend"
    page = factories.form_page("Sign up", fields=[("Email", "email"), ("Newsletter", "checkbox")])
    with django_capture_on_commit_callbacks(execute=True):
        response = browser_client.post(page.url, {"email": "ann@example.com", "newsletter": "on"})
    assert response.status_code == 200
    assert Contact.objects.filter(email="ann@example.com").exists()


class FailingBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("no mail server")


# ---- suppression ----

def test_stop_email_flags_the_contact_and_suppresses_the_address_once():
    ann = factories.contact(email="Ann@Example.com")
    assert consent.stop_email(ann, "bounced") is True
    assert consent.stop_email(ann, "complained") is False
    ann.refresh_from_db()
    assert (ann.do_not_email, ann.do_not_email_reason) == (True, "bounced")
    assert Suppression.objects.get().email_hash == email_hash("ann@example.com")


def test_an_import_of_a_suppressed_address_is_flagged_do_not_email():
    consent.suppress("ann@example.com", "unsubscribed")
    import_contacts(io.BytesIO(b"email,first_name\nANN@example.com,Ann\nbob@example.com,Bob\n"))
    ann, bob = Contact.objects.get(first_name="Ann"), Contact.objects.get(first_name="Bob")
    assert (ann.do_not_email, ann.do_not_email_reason) == (True, "suppressed")
    assert not bob.do_not_email


def test_a_contact_created_or_given_a_suppressed_address_is_flagged(browser_client):
    consent.suppress("ann@example.com", "unsubscribed")
    made = Contact.objects.create(email="ann@example.com")
    assert made.do_not_email and Contact.objects.get(pk=made.pk).do_not_email_reason == "suppressed"

    consent.suppress("bob@example.com", "complained")
    browser_client.get(factories.content_page().url)  # an anonymous visitor first
    page = factories.form_page("Contact")
    browser_client.post(page.url, {"email": "bob@example.com"})
    bob = Contact.objects.get(email="bob@example.com")
    assert bob.do_not_email and bob.do_not_email_reason == "suppressed"
