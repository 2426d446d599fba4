"""Message events on the contact's timeline: sent, delivered, opened, clicked, bounced,
complained, unsubscribed, SMS sent. Decisions and message rules read these rows; ``data``
names the delivery, message, campaign and step so that "opened an email of campaign C" is
one filter."""

from __future__ import annotations

from django.utils import timezone

from wagtail_segments.contacts.models import Event
from wagtail_segments.contacts.pass_queue import schedule_event_processing

from .models import Delivery


def delivery_data(delivery: Delivery) -> dict:
    data = {"delivery": delivery.pk, "channel": delivery.channel}
    if delivery.email_message_id:
        data["message"] = delivery.email_message_id
    if delivery.sms_message_id:
        data["sms_message"] = delivery.sms_message_id
    if delivery.campaign_id:
        data["campaign"] = delivery.campaign_id
    if delivery.step_key:
        data["step"] = str(delivery.step_key)
    return data


def record_message_event(delivery: Delivery, kind: str, *, time=None, **extra) -> Event:
    """One event of ``kind`` (an ``EventKind`` value) for the delivery's contact; the pass
    over new events is queued so that decisions and message rules hear of it in seconds."""
    event = Event.objects.create(
        contact_id=delivery.contact_id, kind=kind, time=time or timezone.now(),
        data={**delivery_data(delivery), **extra},
    )
    schedule_event_processing()
    return event
