"""Sending: who never gets an email, the headers, one connection per batch, what is recorded."""

import datetime
import smtplib
from email.policy import compat32

import pytest
from hypothesis import given
from hypothesis import strategies as st
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.utils import timezone

from tests import factories
from tests.smtp import smtp_settings
from wagtail_segments.contacts.models import Contact, Event, Touchpoint
from wagtail_segments.messaging.consent import unsubscribe
from wagtail_segments.messaging.models import Consent, Delivery, Purpose
from wagtail_segments.messaging.sending import SHORT_HEADERS_AS_THEY_ARE, Recipient, send_emails, send_test

pytestmark = pytest.mark.django_db


class CountingBackend(EmailBackend):
    """The in-memory backend, counting the connections opened and refusing one address."""

    opened = 0

    def open(self):
        type(self).opened += 1
        return super().open()

    def send_messages(self, messages):
        if any("refused" in address for m in messages for address in m.to):
            raise smtplib.SMTPRecipientsRefused({m.to[0]: (550, b"mailbox unavailable") for m in messages})
        return super().send_messages(messages)


@pytest.fixture
def counting_backend(settings):
    settings.EMAIL_BACKEND = "tests.test_email_sending.CountingBackend"
    CountingBackend.opened = 0
    return CountingBackend


def send(message, *contacts, **kwargs):
    return send_emails(message, [Recipient(c) for c in contacts], **kwargs).deliveries


def test_a_sent_email_is_recorded_as_delivery_event_and_touchpoint():
    message = factories.email_message(subject="Hello {{ first_name }}")
    contact = factories.contact(first_name="Ann", email="ann@example.com")

    [delivery] = send(message, contact)

    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["ann@example.com"]
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SENT and delivery.sent_at and delivery.subject == "Hello Ann"
    assert delivery.provider_message_id == mail.outbox[0].extra_headers["Message-ID"]
    sent = Event.objects.get(contact=contact, kind="email_sent")
    assert sent.data["delivery"] == delivery.pk and sent.data["message"] == message.pk
    touchpoint = Touchpoint.objects.get(contact=contact)
    assert touchpoint.kind == "email" and touchpoint.automatic
    assert Event.objects.filter(contact=contact, kind="touchpoint", data__kind="email").count() == 1


def test_marketing_email_carries_one_click_list_unsubscribe_headers(settings):
    settings.WAGTAIL_SEGMENTS = {"EMAIL_UNSUBSCRIBE_MAILTO": "leave@example.com"}
    marketing = factories.email_message()
    transactional = factories.email_message(purpose=Purpose.TRANSACTIONAL)
    contact = factories.contact(email="a@example.com")

    [delivery] = send(marketing, contact)
    send(transactional, contact)

    headers = mail.outbox[0].extra_headers
    https, mailto = headers["List-Unsubscribe"].split(", ")
    assert https.startswith("<http") and "/_segments/u/" in https
    assert mailto.startswith("<mailto:leave@example.com?subject=unsubscribe%20")
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "List-Unsubscribe" not in mail.outbox[1].extra_headers  # a receipt is not a list
    assert "Unsubscribe" not in mail.outbox[1].alternatives[0][0]


@pytest.mark.parametrize("case", ["no email", "do not email", "merged", "unsubscribed"])
def test_the_gates_never_mail_a_contact_that_must_not_be_mailed(case):
    message = factories.email_message()
    contact = factories.contact(email="" if case == "no email" else "a@example.com",
                                do_not_email=case == "do not email")
    if case == "merged":
        contact.merged_into = factories.contact(email="b@example.com")
        contact.save()
    if case == "unsubscribed":
        unsubscribe(contact, source="test")

    [delivery] = send(message, contact)

    assert mail.outbox == []
    assert delivery.status == Delivery.Status.SKIPPED and delivery.reason
    assert not Event.objects.filter(kind="email_sent").exists()


def test_an_unsubscribed_address_erased_and_imported_again_gets_nothing():
    message = factories.email_message()
    old = factories.contact(email="Ann@Example.com")
    unsubscribe(old, source="test")
    old.delete()  # erased: only the suppression hash remains
    again = factories.contact(email="ann@example.com ")

    [delivery] = send(message, again)

    assert mail.outbox == [] and delivery.status == "skipped" and "suppress" in delivery.reason


def test_only_confirmed_skips_contacts_without_confirmed_consent():
    message = factories.email_message()
    confirmed, pending, unknown = (factories.contact(email=f"{n}@example.com") for n in ("c", "p", "u"))
    Consent.objects.create(contact=confirmed, status=Consent.Status.CONFIRMED, confirmed_at=timezone.now())
    Consent.objects.create(contact=pending, status=Consent.Status.PENDING)

    deliveries = send(message, confirmed, pending, unknown, only_confirmed=True)

    assert [d.status for d in deliveries] == ["sent", "skipped", "skipped"]
    assert [m.to for m in mail.outbox] == [["c@example.com"]]


def test_the_frequency_cap_counts_only_marketing_email(settings):
    settings.WAGTAIL_SEGMENTS = {"EMAIL_FREQUENCY_CAP": 2, "EMAIL_FREQUENCY_CAP_DAYS": 7}
    marketing, receipt = factories.email_message(), factories.email_message(purpose=Purpose.TRANSACTIONAL)
    contact = factories.contact(email="a@example.com")
    for _ in range(3):
        send(receipt, contact)  # transactional: not counted, and never capped
    old = send(marketing, contact)[0]
    Delivery.objects.filter(pk=old.pk).update(sent_at=timezone.now() - datetime.timedelta(days=8))  # outside D

    statuses = [send(marketing, contact)[0].status for _ in range(3)]

    assert statuses == ["sent", "sent", "skipped"]
    assert send(receipt, contact)[0].status == "sent"
    assert Delivery.objects.get(status="skipped").reason.startswith("Frequency cap")


def test_a_batch_uses_one_connection_and_a_refused_address_fails_only_its_own_delivery(counting_backend):
    message = factories.email_message()
    contacts = [factories.contact(email=f"c{i}@example.com") for i in range(5)]
    contacts[2].email = "refused@example.com"
    contacts[2].save()

    deliveries = send(message, *contacts)

    assert counting_backend.opened == 1
    assert [d.status for d in deliveries] == ["sent", "sent", "failed", "sent", "sent"]
    assert "mailbox unavailable" in Delivery.objects.get(status="failed").error
    assert len(mail.outbox) == 4


def test_sending_respects_the_backends_rate_limit(settings, counting_backend, monkeypatch):
    from wagtail_segments.messaging import ratelimit

    settings.WAGTAIL_SEGMENTS = {"EMAIL_RATE_LIMITS": {"*": {"per_second": 2}}}
    clock = {"now": 1000.0}
    slept = []
    monkeypatch.setattr(ratelimit, "now", lambda: clock["now"])

    def sleep(seconds):
        slept.append(seconds)
        clock["now"] += seconds

    monkeypatch.setattr(ratelimit, "pause", sleep)
    message = factories.email_message()

    send(message, *[factories.contact(email=f"c{i}@example.com") for i in range(5)])

    assert len(mail.outbox) == 5
    assert 1.8 <= sum(slept) <= 2.2  # 5 messages at 2 per second: about two seconds of waiting


def test_send_test_goes_to_the_given_address_merged_as_the_chosen_contact():
    message = factories.email_message(subject="Hi {{ first_name|default:\"there\" }}")
    ann = factories.contact(first_name="Ann", email="ann@example.com", do_not_email=True)

    delivery = send_test(message, "editor@example.com", as_contact=ann)
    send_test(message, "editor@example.com")

    assert [m.to for m in mail.outbox] == [["editor@example.com"], ["editor@example.com"]]
    assert [m.subject for m in mail.outbox] == ["[Test] Hi Ann", "[Test] Hi there"]
    assert delivery.test and delivery.status == "sent"
    assert not Event.objects.filter(contact=ann).exists() and not Touchpoint.objects.exists()


def test_an_email_through_a_real_smtp_server(settings, smtp_sink):
    message = factories.email_message("<p>Hi {{ first_name }}</p>", subject="Hi {{ first_name }}")
    contacts = [factories.contact(first_name=f"N{i}", email=f"n{i}@example.com") for i in range(3)]
    for key, value in smtp_settings(smtp_sink.port).items():
        setattr(settings, key, value)
    deliveries = send(message, *contacts)

    assert [d.status for d in deliveries] == ["sent"] * 3
    received = {to[0]: email for (_sender, to), email in zip(smtp_sink.envelopes, smtp_sink.wait_for(3))}
    email = received["n1@example.com"]
    assert email["Subject"] == "Hi N1" and email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    parts = {part.get_content_type(): part.get_payload(decode=True).decode() for part in email.walk()
             if not part.is_multipart()}
    assert "Hi N1" in parts["text/plain"] and "Hi N1" in parts["text/html"]
    assert Contact.objects.count() == 3


HEADER_NAMES = st.sampled_from(["Subject", "To", "Message-ID", "List-Unsubscribe", "Content-Type", "X-Long-Header-Name"])


@pytest.mark.django_db(transaction=False)
@given(name=HEADER_NAMES, value=st.text(st.sampled_from("ab Z09 ;,:<>=\"'@()[]/\\.-_?+\té\n"), max_size=90))
def test_headers_are_written_exactly_as_the_standard_policy_writes_them(name, value):
    def written(fold):
        try:
            return fold(name, value)
        except Exception as error:  # noqa: BLE001  (a value the standard refuses must be refused too)
            return type(error)

    for linesep in ("\n", "\r\n"):
        ours, standard = SHORT_HEADERS_AS_THEY_ARE.clone(linesep=linesep), compat32.clone(linesep=linesep)
        assert written(ours.fold) == written(standard.fold)
        assert written(ours.fold_binary) == written(standard.fold_binary)


def test_a_new_deliverys_row_keeps_every_field_the_object_holds():
    """The batch insert names the columns it writes: a field left out would silently lose what
    the sending code put on the object (here the fields a first email send leaves at their
    defaults: an SMS message, the moments sent, opened and clicked)."""
    from wagtail_segments.messaging.sending import _insert

    contact, now = factories.contact(email="ann@example.com"), timezone.now()
    delivery = Delivery(
        contact=contact, email_message=factories.email_message(), sms_message=factories.sms_message(),
        purpose=Purpose.TRANSACTIONAL, campaign_id=7, run_id=8, step_key="6f1c2a3e-0d4b-4c59-9a61-2f3b4c5d6e7f",
        test=True, to_address="ann@example.com", subject="Hi", status=Delivery.Status.SENT, reason="why",
        error="oops", links=["https://example.com/"], provider_message_id="<id@example.com>",
        created_at=now - datetime.timedelta(minutes=3), sent_at=now - datetime.timedelta(minutes=2),
        opened_at=now - datetime.timedelta(minutes=1), clicked_at=now,
    )

    _insert([delivery])

    stored = Delivery.objects.get(pk=delivery.pk)
    for field in Delivery._meta.concrete_fields:
        assert str(getattr(stored, field.attname)) == str(getattr(delivery, field.attname)), field.name
