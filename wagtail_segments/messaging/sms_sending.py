"""Sending one SMS message to one contact, and the SMS opt-out and opt-in.

``send_sms`` decides whether the contact may get the text (a valid phone, not opted out,
for marketing texts under ``SMS_FREQUENCY_CAP``: see ``frequency_cap.py``),
fills in the merge fields, hands it to the site's SMS backend and records what happened:
a ``Delivery`` (channel ``sms``, status sent, skipped with a reason, or failed with the
error), and for a sent text an ``sms_sent`` event and an automatic ``sms`` touchpoint.
A contact who may not get the text is *skipped*, never an error: a campaign goes on.
A backend that fails raises ``SmsNotSent`` after recording it, so a campaign retries.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from wagtail_segments.conf import settings as conf
from wagtail_segments.contacts.models import Contact, Event, EventKind
from wagtail_segments.contacts.pass_queue import schedule_event_processing
from wagtail_segments.contacts.phone import InvalidPhone, normalise_phone
from wagtail_segments.contacts.touchpoints import log_touchpoint

from .events import record_message_event
from .frequency_cap import capped_contacts
from .merge import MergeFieldError, render_text
from .models import Channel, Consent, Delivery, SmsMessage
from .sms import OutboundSms, get_backend

OPTED_OUT = "opted out"  # the start of do_not_sms_reason when the contact opted out


class SmsNotSent(Exception):
    """The backend did not take the text (its error is on the delivery): worth a retry."""

    def __init__(self, message: str, delivery: Delivery) -> None:
        super().__init__(message)
        self.delivery = delivery


def sms_recipient(contact: Contact) -> str:
    """The contact's number in E.164, or ``InvalidPhone`` saying why it gets no texts."""
    if contact.do_not_sms:
        reason = _("The contact does not want texts")
        raise InvalidPhone(f"{reason} ({contact.do_not_sms_reason})" if contact.do_not_sms_reason else reason)
    if contact.merged_into_id:
        raise InvalidPhone(_("The contact was merged into another."))
    return normalise_phone(contact.phone)


def send_sms(message: SmsMessage, contact: Contact, *, campaign_id: int | None = None, run_id: int | None = None,
             step_key=None, test: bool = False, backend=None) -> Delivery:
    """Send ``message`` to ``contact`` unless it may not get texts; returns the delivery.

    Raises ``MergeFieldError`` for a text whose merge fields are broken, ``SmsNotSent``
    when the backend fails (both recorded as a failed delivery first).
    """
    base = {"channel": Channel.SMS, "contact": contact, "sms_message": message, "purpose": message.purpose,
            "campaign_id": campaign_id, "run_id": run_id, "step_key": step_key, "test": test}
    try:
        to = sms_recipient(contact)
    except InvalidPhone as why:
        return Delivery.objects.create(**base, to_address=(contact.phone or "")[:254], status=Delivery.Status.SKIPPED,
                                       reason=str(why)[:255])
    if not test:
        capped = capped_contacts(Channel.SMS, message.purpose, [contact.pk], timezone.now())
        if capped:
            return Delivery.objects.create(**base, to_address=to, status=Delivery.Status.SKIPPED,
                                           reason=capped[contact.pk][:255])
    try:
        body = render_text(message.body, contact).strip()
    except MergeFieldError as error:
        Delivery.objects.create(**base, to_address=to, status=Delivery.Status.FAILED, error=str(error))
        raise
    if not body:
        return Delivery.objects.create(**base, to_address=to, status=Delivery.Status.SKIPPED,
                                       reason=_("The text is empty for this contact."))
    delivery = Delivery.objects.create(**base, to_address=to, status=Delivery.Status.PENDING)
    outbound = OutboundSms(to=to, body=body, sender=conf.SMS_FROM or "", metadata={"delivery": str(delivery.token)})
    backend = backend or get_backend()
    try:
        with backend:
            [result] = backend.send_messages([outbound])
        error = result.error
    except Exception as failure:
        error, result = f"{type(failure).__name__}: {failure}", None
    if error:
        Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.Status.FAILED, error=error)
        delivery.status, delivery.error = Delivery.Status.FAILED, error
        raise SmsNotSent(error, delivery)
    now = timezone.now()
    with transaction.atomic():
        delivery.status, delivery.sent_at, delivery.provider_message_id = Delivery.Status.SENT, now, result.provider_id[:255]
        delivery.save(update_fields=["status", "sent_at", "provider_message_id"])
        record_message_event(delivery, EventKind.SMS_SENT, time=now)
        log_touchpoint(contact, "sms", note=message.name, time=now)
    return delivery


def opt_out_sms(contact: Contact, *, source: str, **details) -> bool:
    """Send ``contact`` no more texts: ``do_not_sms`` with the reason ``opted out (source)``,
    its SMS consent withdrawn (created withdrawn when it had none, so that the consent shows
    when and how), and an ``sms_opted_out`` event with ``source`` and ``details``. Returns
    False when it had already opted out.

    ``source`` says how (``"SMS reply"``, ``"preference page"``, ``"staff"``…)."""
    now = timezone.now()
    reason = f"{OPTED_OUT} ({source})"[:255]
    with transaction.atomic():
        changed = Contact.objects.filter(pk=contact.pk, do_not_sms=False).update(
            do_not_sms=True, do_not_sms_reason=reason,
        )
        consent, created = Consent.objects.select_for_update().get_or_create(
            contact=contact, channel=Channel.SMS,
            defaults={"status": Consent.Status.WITHDRAWN, "source": source[:100], "requested_at": now,
                      "withdrawn_at": now, "details": {"withdrawn_through": source}},
        )
        if not created and consent.status != Consent.Status.WITHDRAWN:
            consent.status, consent.withdrawn_at = Consent.Status.WITHDRAWN, now
            consent.details = {**consent.details, "withdrawn_through": source}
            consent.save(update_fields=["status", "withdrawn_at", "details"])
        if changed:
            Event.objects.create(contact=contact, kind=EventKind.SMS_OPTED_OUT, time=now,
                                 data={"source": source, **details})
            schedule_event_processing()
    contact.do_not_sms = True
    if changed:
        contact.do_not_sms_reason = reason
    return bool(changed)


def may_text_again(contact: Contact) -> bool:
    """Whether an opt-in from the contact itself (a START reply) lifts its ``do_not_sms``:
    only when the contact opted out itself. A flag set by staff, with or without a reason,
    stays until staff lift it."""
    reason = contact.do_not_sms_reason or ""
    return not contact.do_not_sms or (reason.startswith(f"{OPTED_OUT} (") and reason != f"{OPTED_OUT} (staff)")


def opt_in_sms(contact: Contact, *, source: str, **details) -> bool:
    """Record that ``contact`` asked for texts again: its own opt-out lifted
    (``may_text_again``), its SMS consent confirmed with when and how, an ``sms_opted_in``
    event. Returns whether it may now be sent texts; a contact that already could, with
    its consent confirmed, changes nothing."""
    now = timezone.now()
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        lifted = contact.do_not_sms and may_text_again(contact)
        if lifted:
            contact.do_not_sms, contact.do_not_sms_reason = False, ""
            # A save, not an update, so that segments over the flag hear of it.
            contact.save(update_fields=["do_not_sms", "do_not_sms_reason"])
        consent, created = Consent.objects.select_for_update().get_or_create(
            contact=contact, channel=Channel.SMS,
            defaults={"status": Consent.Status.CONFIRMED, "source": source[:100], "requested_at": now,
                      "confirmed_at": now},
        )
        confirmed = created
        if not created and consent.status != Consent.Status.CONFIRMED:
            if consent.withdrawn_at:
                consent.details = {**consent.details, "previously_withdrawn_at": consent.withdrawn_at.isoformat()}
            consent.status, consent.confirmed_at, consent.withdrawn_at = Consent.Status.CONFIRMED, now, None
            consent.details = {**consent.details, "confirmed_through": source}
            consent.save(update_fields=["status", "confirmed_at", "withdrawn_at", "details"])
            confirmed = True
        if lifted or confirmed:
            Event.objects.create(contact=contact, kind=EventKind.SMS_OPTED_IN, time=now,
                                 data={"source": source, "still_blocked": contact.do_not_sms, **details})
            schedule_event_processing()
    return not contact.do_not_sms
