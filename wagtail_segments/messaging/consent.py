"""Who may be sent what: unsubscribes, the suppression list and consent (double opt-in).

An unsubscribe is recorded three ways at once: the contact's ``do_not_email`` (what the
send gate reads), a ``Suppression`` hash of the address (what survives erasure and a
re-import) and the consent withdrawn; plus an ``email_unsubscribed`` event for the timeline,
decisions and rules. Bounces, complaints and provider rejections (``stop_email``) set the
flag and the suppression the same way, with their own reason.

Double opt-in: ``request_confirmation`` marks the consent pending and mails a signed link;
the confirm view (preferences.py) calls ``confirm_consent``. A contact who unsubscribed and
then confirms a fresh request has consented again, explicitly and provably: the
unsubscribe's flag and suppression row go. Nothing else is undone that way: a bounce, a
complaint, a rejection or a flag set by staff stays (see docs/messaging.md).
"""

from __future__ import annotations

import datetime
import logging
from typing import Iterable

from django.conf import settings as django_settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from wagtail_segments.conf import settings as conf
from wagtail_segments.contacts.pass_queue import schedule_event_processing
from wagtail_segments.contacts.models import Contact, Event, EventKind

from .models import Channel, Consent, Delivery, Purpose, Suppression, email_hash

logger = logging.getLogger(__name__)

UNSUBSCRIBED = "unsubscribed"
# What an import or a form marks on a contact whose address is on the suppression list.
SUPPRESSED = "suppressed"
# A new confirmation is not mailed again sooner than this to the same contact: anyone can
# type anyone's address into a form, and a form submitted ten times must not mail ten times.
RESEND_AFTER = datetime.timedelta(minutes=10)


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
            do_not_email=True, do_not_email_reason=f"{UNSUBSCRIBED} ({source})"[:255],
        )
        suppress(contact.email, UNSUBSCRIBED)
        Consent.objects.filter(contact=contact, channel=Channel.EMAIL).exclude(
            status=Consent.Status.WITHDRAWN,
        ).update(status=Consent.Status.WITHDRAWN, withdrawn_at=now)
        if changed:
            data = {"source": source}
            if delivery is not None:
                from .events import delivery_data

                data.update(delivery_data(delivery))
            Event.objects.create(contact=contact, kind=EventKind.EMAIL_UNSUBSCRIBED, time=now, data=data)
            schedule_event_processing()
    contact.do_not_email = True
    return bool(changed)


def stop_email(contact: Contact, reason: str) -> bool:
    """Never mail ``contact`` again because its address bounced, complained or was rejected:
    the flag with ``reason`` and a suppression row. Returns False when the flag was already set
    (its first reason is kept)."""
    with transaction.atomic():
        changed = Contact.objects.filter(pk=contact.pk, do_not_email=False).update(
            do_not_email=True, do_not_email_reason=reason[:255],
        )
        suppress(contact.email, reason)
    if changed:
        contact.do_not_email, contact.do_not_email_reason = True, reason[:255]
    return bool(changed)


def mark_suppressed_contacts(contact_ids: Iterable[int]) -> int:
    """Flag ``do_not_email`` (reason "suppressed") on those of the contacts whose address is on
    the suppression list: an address unsubscribed before, then erased and imported or typed
    into a form again, shows as not to be emailed. Returns how many were flagged."""
    candidates = dict(
        Contact.objects.filter(pk__in=list(contact_ids), do_not_email=False)
        .exclude(email="").values_list("pk", "email")
    )
    if not candidates:
        return 0
    hashes = {pk: email_hash(email) for pk, email in candidates.items()}
    found = set(Suppression.objects.filter(email_hash__in=set(hashes.values())).values_list("email_hash", flat=True))
    flagged = [pk for pk, digest in hashes.items() if digest in found]
    if flagged:
        Contact.objects.filter(pk__in=flagged).update(do_not_email=True, do_not_email_reason=SUPPRESSED)
    return len(flagged)


def on_contact_saved(sender, instance: Contact, created: bool, raw: bool = False, update_fields=None, **kwargs) -> None:
    """A contact created or saved with a suppressed address is flagged at once (a form's new
    contact, an anonymous visitor who typed the address, an edit in the admin)."""
    if raw or instance.do_not_email or not instance.email:
        return
    if not created and update_fields is not None and "email" not in update_fields:
        return
    if is_suppressed(instance.email):
        instance.do_not_email, instance.do_not_email_reason = True, SUPPRESSED
        # A save, not an update, so that segments over the flag hear of it.
        instance.save(update_fields=["do_not_email", "do_not_email_reason"])


def on_contacts_imported(sender, changed_ids: list[int], **kwargs) -> None:
    """Imports write in bulk and send no ``post_save``: check the chunk's contacts here."""
    if changed_ids:
        mark_suppressed_contacts(changed_ids)


# ---- double opt-in ----

def _suppression_reason(contact: Contact) -> str | None:
    if not contact.email:
        return None
    return Suppression.objects.filter(email_hash=email_hash(contact.email)).values_list("reason", flat=True).first()


def may_consent_again(contact: Contact) -> bool:
    """Whether a fresh confirmation may make ``contact`` mailable: it is not blocked, or only
    by its own unsubscribe. A bounce, a complaint, a rejection or staff's own do-not-email
    are never undone by a link."""
    reason = _suppression_reason(contact)
    if reason not in (None, UNSUBSCRIBED):
        return False
    if not contact.do_not_email:
        return True
    flag = contact.do_not_email_reason or ""
    return flag.startswith(UNSUBSCRIBED) or (flag == SUPPRESSED and reason == UNSUBSCRIBED)


def request_confirmation(contact: Contact, *, source: str, form_page=None) -> Consent | None:
    """Ask ``contact`` to confirm email consent: the consent becomes pending and a
    transactional email with a signed confirmation link is sent.

    Returns the consent, or None when nothing was sent: no address, a block that a
    confirmation cannot lift (``may_consent_again``), or a request mailed less than
    ``RESEND_AFTER`` ago. An already confirmed consent is returned as it is, with no email.
    """
    if not contact.email or not may_consent_again(contact):
        return None
    now = timezone.now()
    with transaction.atomic():
        consent, _created = Consent.objects.select_for_update().get_or_create(
            contact=contact, channel=Channel.EMAIL,
            defaults={"source": source[:100], "form_page": form_page, "requested_at": now},
        )
        if consent.status == Consent.Status.CONFIRMED:
            return consent
        if not _created and consent.status == Consent.Status.PENDING and consent.details.get("mailed_at"):
            if now - datetime.datetime.fromisoformat(consent.details["mailed_at"]) < RESEND_AFTER:
                return None
        consent.status = Consent.Status.PENDING
        consent.source, consent.form_page, consent.requested_at = source[:100], form_page, now
        consent.details = {**consent.details, "mailed_at": now.isoformat()}
        consent.save()
    send_confirmation_email(contact, consent)
    return consent


def send_confirmation_email(contact: Contact, consent: Consent) -> Delivery:
    """The confirmation email itself, through the site's email backend. Templates (a site may
    override them): ``wagtail_segments/messaging/confirmation/subject.txt``, ``body.txt``,
    ``body.html``. Recorded as a transactional delivery with an ``email_sent`` event."""
    from .events import record_message_event
    from .links import confirm_url
    from .providers import provider_message_id

    context = {
        "contact": contact, "confirm_url": confirm_url(contact, consent.channel),
        "source": consent.source, "form_page": consent.form_page,
    }
    subject = " ".join(render_to_string("wagtail_segments/messaging/confirmation/subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("wagtail_segments/messaging/confirmation/body.txt", context),
        from_email=conf.CONFIRMATION_FROM_EMAIL or django_settings.DEFAULT_FROM_EMAIL,
        to=[contact.email],
    )
    message.attach_alternative(render_to_string("wagtail_segments/messaging/confirmation/body.html", context), "text/html")
    delivery = Delivery.objects.create(
        contact=contact, purpose=Purpose.TRANSACTIONAL, to_address=contact.email, subject=subject[:255],
    )
    message.send()
    delivery.status, delivery.sent_at = Delivery.Status.SENT, timezone.now()
    delivery.provider_message_id = provider_message_id(message)
    delivery.save(update_fields=["status", "sent_at", "provider_message_id"])
    record_message_event(delivery, EventKind.EMAIL_SENT, time=delivery.sent_at, confirmation=True)
    return delivery


def confirm_consent(contact: Contact, channel: str = Channel.EMAIL) -> bool:
    """Record that ``contact`` confirmed through the signed link: consent confirmed with when
    (and keeping where it was asked from). Returns False when nothing changed: it already was
    confirmed (confirming twice is harmless), or it was withdrawn after the link was sent (an
    old link never undoes a later unsubscribe: only a fresh request's link does).

    A contact that had unsubscribed and then asked again consents again here
    (``may_consent_again``): its unsubscribe flag is cleared and the address leaves the
    suppression list. Any other block stays, though the confirmation is recorded all the
    same, as the contact's own act.
    """
    now = timezone.now()
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        consent, _created = Consent.objects.select_for_update().get_or_create(
            contact=contact, channel=channel, defaults={"source": "confirmation link", "requested_at": now},
        )
        if consent.status in (Consent.Status.CONFIRMED, Consent.Status.WITHDRAWN):
            return False
        if channel == Channel.EMAIL and may_consent_again(contact):
            if contact.do_not_email:
                contact.do_not_email, contact.do_not_email_reason = False, ""
                contact.save(update_fields=["do_not_email", "do_not_email_reason"])
            Suppression.objects.filter(email_hash=email_hash(contact.email), reason=UNSUBSCRIBED).delete()
        if consent.withdrawn_at:
            consent.details = {**consent.details, "previously_withdrawn_at": consent.withdrawn_at.isoformat()}
        consent.status, consent.confirmed_at, consent.withdrawn_at = Consent.Status.CONFIRMED, now, None
        consent.save()
        Event.objects.create(
            contact=contact, kind=EventKind.CONSENT_CONFIRMED, time=now,
            data={"channel": channel, "source": consent.source, "form_page": consent.form_page_id},
        )
    return True


# ---- forms that ask for double opt-in ----

def _ticked(value) -> bool:
    if isinstance(value, (list, tuple)):
        return any(_ticked(item) for item in value)
    return str(value).strip().casefold() not in ("", "false", "0", "no", "off", "none")


def asks_everyone_to_confirm(page) -> bool:
    """The page's code asks every submitter for double opt-in (``segments_double_opt_in``)."""
    return bool(getattr(page, "segments_double_opt_in", False))


def confirmation_field(page) -> str | None:
    """The clean name of the field that, ticked, asks for double opt-in: the page's
    ``segments_double_opt_in_field``, else the ``DOUBLE_OPT_IN_FIELD`` setting."""
    return getattr(page, "segments_double_opt_in_field", None) or conf.DOUBLE_OPT_IN_FIELD or None


def wants_confirmation(page, answers: dict) -> bool:
    """A form page asks for double opt-in for every submission (``asks_everyone_to_confirm``),
    or when the answer of its ``confirmation_field`` is ticked."""
    if asks_everyone_to_confirm(page):
        return True
    field = confirmation_field(page)
    return bool(field) and _ticked(answers.get(field, ""))


def on_event_recorded(sender, event: Event, **kwargs) -> None:
    """A form submission that asks for double opt-in mails the confirmation once the
    submission has committed; a failed send is logged, never the visitor's error."""
    if event.kind != EventKind.FORM_SUBMISSION or not event.page_id:
        return
    page = event.page.specific
    if not wants_confirmation(page, (event.data or {}).get("answers") or {}):
        return
    contact_id, page_id = event.contact_id, page.pk

    def send() -> None:
        contact = Contact.objects.filter(pk=contact_id, merged_into__isnull=True).first()
        if contact is None:
            return
        try:
            request_confirmation(contact, source="form", form_page=page)
        except Exception:
            logger.exception("Could not send the confirmation email for form page %s", page_id)

    transaction.on_commit(send)
