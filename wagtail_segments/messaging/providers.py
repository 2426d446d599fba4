"""Tracking reported by an email provider, through django-anymail (optional).

When anymail is installed, ``apps.py`` connects ``anymail.signals.tracking`` to
``on_tracking_event``. Each event is matched to the delivery it is about by the provider's
message id (stored at send time: ``provider_message_id``), else by the delivery token sent
as metadata (``anymail_metadata``), else to the contact with the recipient's address; it is
recorded once per (provider, event id) (a webhook delivered twice is a no-op; an event
without an id is keyed by a hash of its content). What each event type does:

==============  ===========================================================================
delivered       an ``email_delivered`` event
opened          an ``email_opened`` event, ``machine: true`` when ``is_machine_open`` says
                so; the delivery's first-opened time (people's opens only)
clicked         an ``email_clicked`` event with the ``url``; the delivery's first-clicked time
bounced         an ``email_bounced`` event; do-not-email (reason "bounced") and suppression
rejected        an ``email_bounced`` event with ``rejected: true``; do-not-email and suppression
complained      an ``email_complained`` event; do-not-email (reason "complained") and suppression
unsubscribed    the same unsubscribe as the preference page (``consent.unsubscribe``)
failed          the delivery is marked failed with the provider's description
others          (queued, sent, deferred, autoresponded, subscribed, unknown) nothing: the send
                already recorded ``email_sent``, and a deferral is followed by a delivery or
                a bounce
==============  ===========================================================================
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid

from django.db import IntegrityError, transaction
from django.utils import timezone

from wagtail_segments.contacts.identity import resolve_contact
from wagtail_segments.contacts.pass_queue import schedule_event_processing
from wagtail_segments.contacts.models import Contact, Event, EventKind

from . import consent
from .events import delivery_data
from .machine_opens import is_machine_open
from .models import Delivery, ProviderEvent

logger = logging.getLogger(__name__)

# The metadata key that carries the delivery's token to the provider and back.
METADATA_KEY = "wsg_delivery"
TEXT_LIMIT = 2048

EVENT_KINDS = {
    "delivered": EventKind.EMAIL_DELIVERED,
    "opened": EventKind.EMAIL_OPENED,
    "clicked": EventKind.EMAIL_CLICKED,
    "bounced": EventKind.EMAIL_BOUNCED,
    "rejected": EventKind.EMAIL_BOUNCED,
    "complained": EventKind.EMAIL_COMPLAINED,
}
# Event types after which the address is never mailed again, and the reason recorded.
STOPPING = {"bounced": "bounced", "rejected": "rejected", "complained": "complained"}


def anymail_metadata(delivery: Delivery) -> dict:
    """Metadata to set on the outgoing message (``message.metadata``) so that tracking finds
    the delivery even before its provider message id is stored."""
    return {METADATA_KEY: str(delivery.token)}


def provider_message_id(message) -> str:
    """The provider's id of a message just sent through an anymail backend, '' otherwise (or
    when the recipients got different ids: then each delivery should be its own message)."""
    message_id = getattr(getattr(message, "anymail_status", None), "message_id", None)
    if isinstance(message_id, (set, frozenset, list, tuple)):
        message_id = next(iter(message_id)) if len(message_id) == 1 else None
    return str(message_id)[:255] if message_id else ""


def _text(value) -> str:
    """Provider text (MTA responses, URLs) as a JSON column takes it on both databases."""
    return str(value or "").replace("\x00", "")[:TEXT_LIMIT]


def event_key(event) -> str:
    """The event's own id, or a hash of what it says when the provider gives none."""
    if event.event_id:
        return str(event.event_id)[:255]
    content = json.dumps(
        [event.event_type, event.message_id, event.recipient, event.timestamp.isoformat() if event.timestamp else None,
         event.click_url, event.user_agent, event.description, event.mta_response],
        default=str,
    )
    return "sha256:" + hashlib.sha256(content.encode()).hexdigest()


def find_delivery(event) -> Delivery | None:
    if event.message_id:
        deliveries = Delivery.objects.filter(provider_message_id=str(event.message_id)[:255])
        if event.recipient:
            one = deliveries.filter(to_address__iexact=event.recipient).first()
            if one is not None:
                return one
        one = deliveries.first()
        if one is not None:
            return one
    token = (event.metadata or {}).get(METADATA_KEY)
    try:
        token = uuid.UUID(str(token)) if token else None
    except ValueError:  # not ours
        return None
    return Delivery.objects.filter(token=token).first() if token else None


def on_tracking_event(sender, event, esp_name: str = "", **kwargs) -> None:
    """anymail's ``tracking`` signal: record the event on its contact, once."""
    kind = EVENT_KINDS.get(event.event_type)
    if kind is None and event.event_type not in ("unsubscribed", "failed"):
        return
    with transaction.atomic():
        try:
            with transaction.atomic():
                ProviderEvent.objects.create(provider=(esp_name or "")[:50], event_id=event_key(event))
        except IntegrityError:
            return  # delivered twice by the provider
        record_tracking_event(event, kind, esp_name)


def record_tracking_event(event, kind: str | None, esp_name: str) -> Event | None:
    delivery = find_delivery(event)
    if delivery is not None:
        contact = resolve_contact(delivery.contact_id)
    else:
        contact = Contact.objects.live().with_email(event.recipient or "").first()
    if contact is None:
        if event.event_type in STOPPING or event.event_type == "unsubscribed":
            consent.suppress(event.recipient or "", STOPPING.get(event.event_type, consent.UNSUBSCRIBED))
        logger.info("%s %s event for an unknown message %s", esp_name, event.event_type, event.message_id)
        return None
    when = event.timestamp or timezone.now()

    if event.event_type == "unsubscribed":
        consent.unsubscribe(contact, source=f"provider: {esp_name}", delivery=delivery)
        return None
    if event.event_type == "failed":
        if delivery is not None:
            delivery.status, delivery.error = Delivery.Status.FAILED, _text(event.description or event.mta_response)
            delivery.save(update_fields=["status", "error"])
        return None

    data = {**(delivery_data(delivery) if delivery is not None else {}), "provider": _text(esp_name)}
    if event.event_type == "opened":
        data["machine"] = is_machine_open(event.user_agent, delivery.sent_at if delivery else None, when)
        if delivery is not None and not data["machine"] and delivery.opened_at is None:
            Delivery.objects.filter(pk=delivery.pk, opened_at__isnull=True).update(opened_at=when)
    elif event.event_type == "clicked":
        data["url"] = _text(event.click_url)
        if delivery is not None:
            Delivery.objects.filter(pk=delivery.pk, clicked_at__isnull=True).update(clicked_at=when)
    elif event.event_type in STOPPING:
        data.update({
            "rejected": event.event_type == "rejected",
            "reason": _text(event.reject_reason), "description": _text(event.description or event.mta_response),
        })
        if contact.email and (event.recipient or "").strip().casefold() in ("", contact.email.casefold()):
            consent.stop_email(contact, STOPPING[event.event_type])
        else:  # the contact's address changed since: only the old address is suppressed
            consent.suppress(event.recipient, STOPPING[event.event_type])
    schedule_event_processing()
    return Event.objects.create(contact=contact, kind=kind, time=when, data=data)
