"""Touchpoints: a member of staff or a campaign reached a contact (a call, meeting, note,
email or SMS). Each is a ``Touchpoint`` row and, as a fact on the contact's timeline, a
``touchpoint`` event. Segments count from the latest one (``segments.reminders``)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from .models import Contact, Event, EventKind, Touchpoint


def log_touchpoint(contact: Contact, kind: str, *, note: str = "", user=None, time=None) -> Touchpoint:
    """Record that ``contact`` was touched, and the fact as an event on the contact.

    ``kind`` is one of ``Touchpoint.Kind`` (call, meeting, note, email, sms); email and SMS
    are automatic, the others manual. A touchpoint for a merged-away contact goes to the
    contact it was merged into. Raises ``ValueError`` for an unknown kind.
    """
    if kind not in Touchpoint.Kind.values:
        raise ValueError(
            f"Unknown touchpoint kind {kind!r}; expected one of {', '.join(Touchpoint.Kind.values)}."
        )
    hops = 0
    while contact.merged_into_id and hops < 10:
        contact = Contact.objects.get(pk=contact.merged_into_id)
        hops += 1
    time = time or timezone.now()
    automatic = kind in Touchpoint.AUTOMATIC_KINDS
    with transaction.atomic():
        touchpoint = Touchpoint.objects.create(
            contact=contact, kind=kind, automatic=automatic, time=time, note=note or "", user=user,
        )
        Event.objects.create(
            contact=contact, kind=EventKind.TOUCHPOINT, time=time,
            data={"kind": kind, "automatic": automatic, "note": note or ""},
        )
    return touchpoint
