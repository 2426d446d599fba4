"""Sending one SMS message to one contact, and the SMS opt-out.

``send_sms`` decides whether the contact may get the text (a valid phone, not opted out),
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
from wagtail_segments.contacts.touchpoints import log_touchpoint

from .events import record_message_event
from .merge import MergeFieldError, render_text
from .models import Channel, Consent, Delivery, SmsMessage
from .phone import InvalidPhone, normalise_phone
from .sms import OutboundSms, get_backend

SMS_OPTED_OUT = "sms_opted_out"  # the event kind of an opt-out


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


def opt_out_sms(contact: Contact, *, source: str) -> bool:
    """Send ``contact`` no more texts (``do_not_sms``, SMS consent withdrawn, an
    ``sms_opted_out`` event); returns False when it had already opted out.

    ``source`` says how (``"reply STOP"``, ``"preference page"``, ``"staff"``…)."""
    now = timezone.now()
    with transaction.atomic():
        changed = Contact.objects.filter(pk=contact.pk, do_not_sms=False).update(
            do_not_sms=True, do_not_sms_reason=f"opted out ({source})"[:255],
        )
        Consent.objects.filter(contact=contact, channel=Channel.SMS).exclude(
            status=Consent.Status.WITHDRAWN,
        ).update(status=Consent.Status.WITHDRAWN, withdrawn_at=now)
        if changed:
            Event.objects.create(contact=contact, kind=SMS_OPTED_OUT, time=now, data={"source": source})
    contact.do_not_sms = True
    if changed:
        contact.do_not_sms_reason = f"opted out ({source})"[:255]
    return bool(changed)
