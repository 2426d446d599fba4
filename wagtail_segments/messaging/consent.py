"""Who may be sent what: unsubscribes, the suppression list and consent.

An unsubscribe is recorded three ways at once: the contact's ``do_not_email`` (what the
send gate reads), a ``Suppression`` hash of the address (what survives erasure and a
re-import) and the consent withdrawn; plus an ``email_unsubscribed`` event for the timeline,
decisions and rules.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from wagtail_segments.contacts.models import Contact, Event, EventKind

from .models import Channel, Consent, Delivery, Suppression, email_hash


def suppress(email: str, reason: str) -> None:
    """Keep ``email`` from ever being mailed again (idempotent)."""
    if email:
        Suppression.objects.get_or_create(email_hash=email_hash(email), defaults={"reason": reason[:255]})


def is_suppressed(email: str) -> bool:
    return bool(email) and Suppression.objects.filter(email_hash=email_hash(email)).exists()


def unsubscribe(contact: Contact, *, source: str, delivery: Delivery | None = None) -> bool:
    """Stop all marketing email to ``contact``; returns False when it already was."""
    now = timezone.now()
    with transaction.atomic():
        changed = Contact.objects.filter(pk=contact.pk, do_not_email=False).update(
            do_not_email=True, do_not_email_reason=f"unsubscribed ({source})"[:255],
        )
        suppress(contact.email, "unsubscribed")
        Consent.objects.filter(contact=contact, channel=Channel.EMAIL).exclude(
            status=Consent.Status.WITHDRAWN,
        ).update(status=Consent.Status.WITHDRAWN, withdrawn_at=now)
        if changed:
            data = {"source": source}
            if delivery is not None:
                from .events import delivery_data

                data.update(delivery_data(delivery))
            Event.objects.create(contact=contact, kind=EventKind.EMAIL_UNSUBSCRIBED, time=now, data=data)
    contact.do_not_email = True
    return bool(changed)
