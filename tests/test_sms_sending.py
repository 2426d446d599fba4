"""Sending an SMS: only to a valid number of a contact who has not opted out; each outcome
recorded on a delivery; a sent text is an event and a touchpoint."""

import pytest

from tests import factories
from wagtail_segments.contacts.models import Event, Touchpoint
from wagtail_segments.messaging.merge import MergeFieldError
from wagtail_segments.messaging.models import Consent, Delivery
from wagtail_segments.messaging.sms.base import BaseSmsBackend
from wagtail_segments.messaging.sms_sending import SmsNotSent, opt_out_sms, send_sms

pytestmark = pytest.mark.django_db


def test_a_text_goes_to_the_e164_number_with_merge_fields_filled_in(sms_outbox):
    contact = factories.contact(first_name="Ada", phone="+1 (415) 555-2671")
    message = factories.sms_message()

    delivery = send_sms(message, contact, campaign_id=7)

    assert [(m.to, m.body) for m in sms_outbox] == [("+14155552671", "Hi Ada, see you soon.")]
    assert (delivery.channel, delivery.status, delivery.to_address) == ("sms", "sent", "+14155552671")
    assert delivery.provider_message_id and delivery.sent_at
    event = Event.objects.get(contact=contact, kind="sms_sent")
    assert event.data == {"delivery": delivery.pk, "channel": "sms", "sms_message": message.pk, "campaign": 7}
    touchpoint = Touchpoint.objects.get(contact=contact)
    assert (touchpoint.kind, touchpoint.automatic) == ("sms", True)


@pytest.mark.parametrize("fields, reason", [
    ({}, "No phone number"),
    ({"phone": "0415 555 2671"}, "no country code"),
    ({"phone": "+1 555"}, "not a valid phone number"),
    ({"phone": "+14155552671", "do_not_sms": True}, "does not want texts"),
])
def test_no_phone_invalid_phone_or_opted_out_is_skipped_with_a_reason(sms_outbox, fields, reason):
    contact = factories.contact(**fields)
    delivery = send_sms(factories.sms_message(), contact)
    assert sms_outbox == []
    assert delivery.status == Delivery.Status.SKIPPED and reason in delivery.reason
    assert not Event.objects.filter(contact=contact, kind="sms_sent").exists()
    assert not Touchpoint.objects.filter(contact=contact).exists()


def test_a_national_number_is_sent_in_the_default_region(settings, sms_outbox):
    settings.WAGTAIL_SEGMENTS = {**settings.WAGTAIL_SEGMENTS, "SMS_DEFAULT_REGION": "US"}
    send_sms(factories.sms_message(), factories.contact(phone="(415) 555-2671"))
    assert [m.to for m in sms_outbox] == ["+14155552671"]


class Down(BaseSmsBackend):
    def send_one(self, message):
        raise ConnectionError("provider unreachable")


def test_a_backend_failure_is_recorded_and_raised_for_a_retry(sms_outbox):
    contact = factories.contact(phone="+14155552671")
    with pytest.raises(SmsNotSent, match="provider unreachable") as raised:
        send_sms(factories.sms_message(), contact, backend=Down())
    delivery = Delivery.objects.get(pk=raised.value.delivery.pk)
    assert delivery.status == "failed" and "ConnectionError" in delivery.error
    assert not Event.objects.filter(contact=contact, kind="sms_sent").exists()


def test_a_broken_template_fails_the_delivery_with_a_clear_error(sms_outbox):
    with pytest.raises(MergeFieldError):
        send_sms(factories.sms_message("Hi {{ first_name|nosuch }}"), factories.contact(phone="+14155552671"))
    assert sms_outbox == []
    assert Delivery.objects.get().status == "failed"


def test_opting_out_stops_texts_and_withdraws_consent(sms_outbox):
    contact = factories.contact(phone="+14155552671")
    Consent.objects.create(contact=contact, channel="sms", status="confirmed")

    assert opt_out_sms(contact, source="reply STOP") is True
    assert opt_out_sms(contact, source="reply STOP") is False

    contact.refresh_from_db()
    assert contact.do_not_sms and contact.do_not_sms_reason == "opted out (reply STOP)"
    assert Consent.objects.get(contact=contact).status == "withdrawn"
    assert Event.objects.filter(contact=contact, kind="sms_opted_out").count() == 1
    assert send_sms(factories.sms_message(), contact).status == "skipped"
    assert sms_outbox == []


def test_the_sms_frequency_cap_counts_only_marketing_texts_and_not_emails(settings, sms_outbox):
    import datetime

    from django.utils import timezone

    from wagtail_segments.messaging.models import Purpose
    from wagtail_segments.messaging.sending import Recipient, send_emails

    settings.WAGTAIL_SEGMENTS = {**settings.WAGTAIL_SEGMENTS, "SMS_FREQUENCY_CAP": 2, "SMS_FREQUENCY_CAP_DAYS": 7,
                                 "EMAIL_FREQUENCY_CAP": 1}
    marketing, receipt = factories.sms_message("Sale"), factories.sms_message("Receipt", purpose=Purpose.TRANSACTIONAL)
    contact = factories.contact(email="a@example.com", phone="+14155552671")
    for _ in range(3):
        send_sms(receipt, contact)  # transactional: not counted, never capped
    send_sms(marketing, contact, test=True)  # a test send: not counted
    old = send_sms(marketing, contact)
    Delivery.objects.filter(pk=old.pk).update(sent_at=timezone.now() - datetime.timedelta(days=8))  # outside D

    statuses = [send_sms(marketing, contact).status for _ in range(3)]

    assert statuses == ["sent", "sent", "skipped"]
    assert Delivery.objects.get(status="skipped").reason == "Frequency cap: 2 marketing texts in the last 7 days."
    assert send_sms(receipt, contact).status == "sent"
    assert send_sms(marketing, contact, test=True).status == "sent"
    # Texts do not count toward the email cap, nor emails toward the text cap.
    [email] = send_emails(factories.email_message(), [Recipient(contact)]).deliveries
    assert email.status == "sent"
    settings.WAGTAIL_SEGMENTS = {**settings.WAGTAIL_SEGMENTS, "SMS_FREQUENCY_CAP": 3}
    assert send_sms(marketing, contact).status == "sent"


def test_no_sms_cap_by_default(sms_outbox):
    contact = factories.contact(phone="+14155552671")
    message = factories.sms_message()
    assert {send_sms(message, contact).status for _ in range(5)} == {"sent"}
