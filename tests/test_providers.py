"""anymail's tracking signal: each provider event on the right contact, once; bounces,
complaints, rejections and unsubscribes stop email to the address; machine opens marked."""

import datetime

import pytest
from anymail.signals import AnymailTrackingEvent, tracking
from django.utils import timezone

from tests import factories
from wagtail_segments.contacts.identity import merge_contacts
from wagtail_segments.messaging import consent
from wagtail_segments.messaging.models import Delivery, ProviderEvent, Suppression, email_hash
from wagtail_segments.messaging.providers import anymail_metadata, provider_message_id
from wagtail_segments.models import Contact, Event

pytestmark = pytest.mark.django_db

SENT = timezone.now() - datetime.timedelta(hours=1)
PERSON_UA = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)"


@pytest.fixture
def delivery():
    ann = factories.contact(email="ann@example.com")
    return Delivery.objects.create(
        contact=ann, to_address="ann@example.com", status="sent", sent_at=SENT,
        provider_message_id="msg-1", campaign_id=7,
    )


def send(event_type, *, esp="postmark", **fields):
    fields.setdefault("message_id", "msg-1")
    fields.setdefault("recipient", "ann@example.com")
    fields.setdefault("timestamp", SENT + datetime.timedelta(minutes=5))
    tracking.send(sender=object, event=AnymailTrackingEvent(event_type=event_type, **fields), esp_name=esp)


def events(kind):
    return list(Event.objects.filter(kind=kind))


def test_delivered_opened_and_clicked_become_events_on_the_contact(delivery):
    send("delivered", event_id="e1")
    send("opened", event_id="e2", user_agent=PERSON_UA)
    send("clicked", event_id="e3", click_url="https://example.com/pricing?a=1", user_agent=PERSON_UA)
    (delivered,), (opened,), (clicked,) = events("email_delivered"), events("email_opened"), events("email_clicked")
    for event in (delivered, opened, clicked):
        assert event.contact_id == delivery.contact_id
        assert event.data["delivery"] == delivery.pk and event.data["campaign"] == 7
        assert event.data["provider"] == "postmark"
    assert opened.data["machine"] is False
    assert clicked.data["url"] == "https://example.com/pricing?a=1"
    delivery.refresh_from_db()
    assert delivery.opened_at == opened.time and delivery.clicked_at == clicked.time


def test_a_webhook_delivered_twice_is_recorded_once(delivery):
    send("opened", event_id="same", user_agent=PERSON_UA)
    send("opened", event_id="same", user_agent=PERSON_UA)
    send("opened", event_id="same", esp="mailgun", user_agent=PERSON_UA)  # ids are per provider
    assert len(events("email_opened")) == 2
    assert ProviderEvent.objects.count() == 2


def test_events_without_an_id_are_deduplicated_on_their_content(delivery):
    send("clicked", click_url="https://example.com/a")
    send("clicked", click_url="https://example.com/a")
    send("clicked", click_url="https://example.com/b")
    assert sorted(e.data["url"] for e in events("email_clicked")) == ["https://example.com/a", "https://example.com/b"]


@pytest.mark.parametrize("event_type, kind, reason", [
    ("bounced", "email_bounced", "bounced"),
    ("rejected", "email_bounced", "rejected"),
    ("complained", "email_complained", "complained"),
])
def test_bounces_complaints_and_rejections_stop_email_for_good(delivery, event_type, kind, reason):
    send(event_type, event_id="e1", description="550 no such user", reject_reason="bounced")
    contact = Contact.objects.get(pk=delivery.contact_id)
    assert (contact.do_not_email, contact.do_not_email_reason) == (True, reason)
    assert Suppression.objects.get().email_hash == email_hash("ann@example.com")
    (event,) = events(kind)
    assert event.data["rejected"] is (event_type == "rejected")
    assert event.data["description"] == "550 no such user"


def test_an_unsubscribe_at_the_provider_is_the_same_unsubscribe(delivery):
    send("unsubscribed", event_id="e1")
    contact = Contact.objects.get(pk=delivery.contact_id)
    assert contact.do_not_email and contact.do_not_email_reason == "unsubscribed (provider: postmark)"
    assert consent.is_suppressed("ann@example.com")
    (event,) = events("email_unsubscribed")
    assert event.data["delivery"] == delivery.pk


def test_a_failed_send_marks_the_delivery_failed(delivery):
    send("failed", event_id="e1", description="template error")
    delivery.refresh_from_db()
    assert (delivery.status, delivery.error) == ("failed", "template error")


def test_queued_sent_and_deferred_record_nothing(delivery):
    for n, event_type in enumerate(["queued", "sent", "deferred", "autoresponded", "unknown"]):
        send(event_type, event_id=f"e{n}")
    assert not Event.objects.exists() and not ProviderEvent.objects.exists()


def test_a_privacy_proxy_open_is_a_machine_open_and_leaves_the_delivery_unopened(delivery):
    send("opened", event_id="e1", user_agent="Mozilla/5.0")
    (opened,) = events("email_opened")
    assert opened.data["machine"] is True
    delivery.refresh_from_db()
    assert delivery.opened_at is None


def test_the_delivery_is_found_by_metadata_when_the_message_id_is_unknown(delivery):
    send("delivered", event_id="e1", message_id="not-stored", metadata=anymail_metadata(delivery))
    send("delivered", event_id="e2", message_id="not-stored", metadata={"wsg_delivery": "not-a-uuid"})
    found, by_address = events("email_delivered")
    assert found.data["delivery"] == delivery.pk
    # metadata that is not ours: the recipient's address still names the contact
    assert "delivery" not in by_address.data and by_address.contact_id == delivery.contact_id


def test_an_event_for_a_merged_away_contact_lands_on_the_survivor(delivery):
    survivor = factories.contact(email="")
    merged = Contact.objects.get(pk=delivery.contact_id)
    Contact.objects.filter(pk=merged.pk).update(email="", email_key=None)
    survivor.email = "ann@example.com"
    survivor.save()
    merge_contacts(Contact.objects.get(pk=merged.pk), survivor)
    send("delivered", event_id="e1")
    assert events("email_delivered")[0].contact_id == survivor.pk


def test_a_bounce_for_no_known_message_still_suppresses_the_address():
    ann = factories.contact(email="ann@example.com")
    send("bounced", event_id="e1", message_id="unknown")
    ann.refresh_from_db()
    assert ann.do_not_email and events("email_bounced")[0].contact_id == ann.pk
    send("complained", event_id="e2", message_id="unknown", recipient="stranger@example.com")
    assert consent.is_suppressed("stranger@example.com")


def test_provider_text_is_stored_safely_on_both_databases(delivery):
    send("bounced", event_id="e1", description="bad\x00byte " + "x" * 5000)
    (event,) = events("email_bounced")
    assert "\x00" not in event.data["description"] and len(event.data["description"]) == 2048


def test_the_provider_message_id_is_read_from_anymails_status():
    class Status:
        message_id = "abc"

    class Message:
        anymail_status = Status()

    assert provider_message_id(Message()) == "abc"
    Status.message_id = {"one"}
    assert provider_message_id(Message()) == "one"
    Status.message_id = {"one", "two"}
    assert provider_message_id(Message()) == ""
    assert provider_message_id(object()) == ""
