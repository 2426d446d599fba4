"""Sending an email to contacts: the gates, one connection per batch, the record of it.

``send_emails(message, recipients)`` sends one message to many contacts and returns one
``Delivery`` per recipient, in order: *sent*, *skipped* (with the reason) or *failed* (with
the error). It never mails a contact that

- has no email address, or was merged into another contact;
- has ``do_not_email`` set (unsubscribed, bounced, complained, marked do-not-contact);
- has an address on the suppression list (kept, hashed, through erasure and re-import);
- has no confirmed email consent, when the caller asks for confirmed contacts only;
- for marketing messages only: has already had ``EMAIL_FREQUENCY_CAP`` marketing emails in
  the last ``EMAIL_FREQUENCY_CAP_DAYS`` days (``frequency_cap.py``).

The send window is the caller's (a campaign defers its step, see ``window.py``): a message
handed to ``send_emails`` goes now.

Order of writes: the deliveries are inserted first (*pending*, with their links and
Message-ID), then the messages go out over one connection of the site's email backend,
paced by the backend's rate limit (``ratelimit.py``) from a thread that sends while the next
recipients are rendered (``Sender``), then ``SendBatch.record()`` writes the
outcome in bulk: statuses, ``email_sent`` events and the automatic email touchpoints (the
same rows ``contacts.touchpoints.log_touchpoint`` writes). A process that dies mid-batch
leaves pending deliveries: what was being sent, for a person to check.
"""

from __future__ import annotations

import datetime
import logging
import os
import queue
import smtplib
import threading
import uuid
from dataclasses import dataclass
from email.policy import Compat32
from urllib.parse import quote

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.message import make_msgid
from django.core.mail.utils import DNS_NAME
from django.db import connection, connections, transaction
from django.db.models import prefetch_related_objects
from django.utils import timezone
from django.utils.translation import gettext as _

from wagtail_segments.conf import settings as conf
from wagtail_segments.contacts.models import Contact, Event, EventKind, Touchpoint
from wagtail_segments.rows import insert_rows

from . import links as public_links
from .events import delivery_data
from .frequency_cap import capped_contacts
from .models import Channel, Consent, Delivery, EmailMessage, Suppression, email_hash
from .ratelimit import limiter_for
from .rendering import PreparedEmail, Rendered, prepare

logger = logging.getLogger(__name__)
# Errors after which the connection is gone (a refused recipient leaves it usable).
LOST_CONNECTION = (smtplib.SMTPServerDisconnected, ConnectionError, TimeoutError)
# Recipients rendered and inserted at a time, while the chunk before is being sent.
SEND_CHUNK = 25


@dataclass
class Recipient:
    """A contact to send to, and the campaign step asking (all optional)."""

    contact: Contact
    campaign_id: int | None = None
    run_id: int | None = None
    step_key: object = None


def skip_reasons(message: EmailMessage, contacts: list[Contact], *, only_confirmed: bool = False,
                 now: datetime.datetime | None = None) -> dict[int, str]:
    """Why each contact that must not get ``message`` must not, by contact id (at most
    three queries, whatever the number of contacts)."""
    now = now or timezone.now()
    reasons: dict[int, str] = {}
    candidates = []
    for contact in contacts:
        if contact.merged_into_id:
            reasons[contact.pk] = _("Merged into another contact.")
        elif not contact.email:
            reasons[contact.pk] = _("No email address.")
        elif contact.do_not_email:
            reasons[contact.pk] = (_("Does not want email: %(reason)s") % {"reason": contact.do_not_email_reason}
                                   if contact.do_not_email_reason else _("Does not want email."))
        else:
            candidates.append(contact)
    if not candidates:
        return reasons
    hashes = {contact.pk: email_hash(contact.email) for contact in candidates}
    suppressed = set(Suppression.objects.filter(email_hash__in=set(hashes.values())).values_list("email_hash", flat=True))
    ids = [contact.pk for contact in candidates]
    confirmed = None
    if only_confirmed:
        confirmed = set(Consent.objects.filter(
            contact_id__in=ids, channel=Channel.EMAIL, status=Consent.Status.CONFIRMED,
        ).values_list("contact_id", flat=True))
    capped = capped_contacts(Channel.EMAIL, message.purpose, ids, now)
    for contact in candidates:
        if hashes[contact.pk] in suppressed:
            reasons[contact.pk] = _("The address is on the suppression list.")
        elif confirmed is not None and contact.pk not in confirmed:
            reasons[contact.pk] = _("Has not confirmed email consent.")
        elif contact.pk in capped:
            reasons[contact.pk] = capped[contact.pk]
    return reasons


class SendBatch:
    """The deliveries of one ``send_emails`` call and the outcome still to be written."""

    def __init__(self, deliveries: list[Delivery], sent_at: datetime.datetime, test: bool = False) -> None:
        self.deliveries = deliveries
        self.sent_at = sent_at
        self.test = test
        self.recorded = False

    @property
    def sent(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.status == Delivery.Status.SENT]

    def record(self) -> None:
        """Write the outcome: run it inside a transaction (the caller's, so that a campaign
        commits it with its step logs). Writing twice does nothing the second time."""
        if self.recorded:
            return
        self.recorded = True
        sent = self.sent
        for delivery in sent:
            delivery.sent_at = self.sent_at
        if sent:
            Delivery.objects.filter(pk__in=[d.pk for d in sent]).update(
                status=Delivery.Status.SENT, sent_at=self.sent_at,
            )
            changed_ids = [d for d in sent if getattr(d, "_provider_id_changed", False)]
            if changed_ids:
                Delivery.objects.bulk_update(changed_ids, ["provider_message_id"])
        for delivery in self.deliveries:
            if getattr(delivery, "_send_failed", False):
                Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.Status.FAILED, error=delivery.error)
        if self.test or not sent:
            return
        contacts, kinds, data = [], [], []
        for delivery in sent:
            contacts += [delivery.contact_id, delivery.contact_id]
            kinds += [EventKind.EMAIL_SENT, EventKind.TOUCHPOINT]
            data += [delivery_data(delivery),
                     {"kind": Touchpoint.Kind.EMAIL, "automatic": True, "note": delivery.subject}]
        insert_rows(Event, {"contact_id": contacts, "kind": kinds, "data": data}, {"time": self.sent_at})
        insert_rows(Touchpoint, {"contact_id": [d.contact_id for d in sent], "note": [d.subject for d in sent]},
                    {"kind": Touchpoint.Kind.EMAIL, "automatic": True, "time": self.sent_at})


class _ShortHeadersAsTheyAre(Compat32):
    """The standard library's own ``compat32`` policy (which Django's messages use), except
    that a header that fits on its line and is plain ASCII with single spaces is written as
    it is, exactly as ``compat32`` folds it (tests/test_email_sending.py compares the two),
    without building a ``Header`` to find that out: that was a third of the time it took
    to turn a campaign email into bytes. Anything else is folded by ``compat32``."""

    def _as_it_is(self, name: str, value) -> str | None:
        if (isinstance(value, str) and value.isascii() and value.isprintable() and "  " not in value
                and value == value.strip() and len(name) + 2 + len(value) <= (self.max_line_length or 0)):
            return f"{name}: {value}{self.linesep}"
        return None

    def fold(self, name, value):
        line = self._as_it_is(name, value)
        return super().fold(name, value) if line is None else line

    def fold_binary(self, name, value):
        line = self._as_it_is(name, value)
        return super().fold_binary(name, value) if line is None else line.encode("ascii")


SHORT_HEADERS_AS_THEY_ARE = _ShortHeadersAsTheyAre()


class _Email(EmailMultiAlternatives):
    """Its MIME boundary is chosen here: the standard library would otherwise compile a new
    regular expression for each message to check its own random boundary against the text.
    Its headers are written by ``_ShortHeadersAsTheyAre``."""

    def message(self, *args, **kwargs):
        mime = super().message(*args, **kwargs)
        if mime.is_multipart():
            mime.set_boundary(f"=_wsg_{uuid.uuid4().hex}")
        mime.policy = SHORT_HEADERS_AS_THEY_ARE
        return mime


def build_email(prepared: PreparedEmail, rendered: Rendered, delivery: Delivery, connection=None,
                *, tracked: bool = True) -> EmailMultiAlternatives:
    """The email itself: text and HTML, Message-ID, and on marketing messages the
    List-Unsubscribe headers (RFC 2369 and the one-click POST of RFC 8058)."""
    message = prepared.message
    headers = {"Message-ID": delivery.provider_message_id}
    if prepared.marketing and tracked:
        targets = [f"<{rendered.unsubscribe_url or public_links.unsubscribe_url(delivery, prepared.base_url)}>"]
        if conf.EMAIL_UNSUBSCRIBE_MAILTO:
            subject = quote(f"unsubscribe {public_links.sign('unsubscribe', str(delivery.token))}")
            targets.append(f"<mailto:{conf.EMAIL_UNSUBSCRIBE_MAILTO}?subject={subject}>")
        headers["List-Unsubscribe"] = ", ".join(targets)
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    email = _Email(
        subject=rendered.subject, body=rendered.text, from_email=message.from_email or settings.DEFAULT_FROM_EMAIL,
        to=[delivery.to_address], reply_to=[message.reply_to] if message.reply_to else None,
        headers=headers, connection=connection,
    )
    email.attach_alternative(rendered.html, "text/html")
    email.metadata = {"wsg_delivery": str(delivery.token)}  # read by django-anymail, ignored otherwise
    return email


class Sender:
    """ONE connection of the site's email backend, fed by the caller while a thread of its
    own sends: the next chunk is rendered and inserted while the last one is on the wire
    (a send is mostly waiting for the server's replies). Each queued delivery is marked sent
    or failed in memory; the caller writes that after ``close()``. Permits of the backend's
    rate limit are taken as messages are queued, and the queue is short, so the pace holds.

    A backend that writes to the database does so from the sending thread, on its own
    connection, which the thread closes when it ends.
    """

    AHEAD = 16  # messages queued ahead of the one being sent

    def __init__(self) -> None:
        backend = settings.EMAIL_BACKEND
        self.limiter = limiter_for(backend)
        self.connection = get_connection(backend)
        self.queue: queue.Queue = queue.Queue(maxsize=self.AHEAD)
        self.thread: threading.Thread | None = None
        self.broken: Exception | None = None

    def send(self, outgoing: list[tuple[Delivery, EmailMultiAlternatives]]) -> None:
        if self.broken is not None:
            for delivery, _email in outgoing:
                _failed(delivery, self.broken)
            return
        if self.thread is None and outgoing:
            try:
                self.connection.open()
            except Exception as error:  # noqa: BLE001  (every message fails; the caller retries)
                self.broken = error
                self.send(outgoing)
                return
            self.thread = threading.Thread(target=self._run, name="wagtail-segments-email", daemon=True)
            self.thread.start()
        position = 0
        while position < len(outgoing):
            allowed = self.limiter.wait_for(len(outgoing) - position)
            for item in outgoing[position:position + allowed]:
                self.queue.put(item)
            position += allowed

    def _run(self) -> None:
        try:
            while True:
                item = self.queue.get()
                if item is None:
                    return
                self._send_one(*item)
        finally:
            connections.close_all()  # this thread's own, if the backend used one

    def _send_one(self, delivery: Delivery, email: EmailMultiAlternatives) -> None:
        email.connection = self.connection
        try:
            if self.connection.send_messages([email]) != 1:
                raise RuntimeError(_("The email backend did not send it."))
        except Exception as error:  # noqa: BLE001  (one refused recipient fails one delivery)
            _failed(delivery, error)
            if isinstance(error, LOST_CONNECTION):
                _reopen(self.connection)
            return
        delivery.status = Delivery.Status.SENT
        status = getattr(email, "anymail_status", None)
        if status is not None and getattr(status, "message_id", None):
            delivery.provider_message_id = str(status.message_id)[:255]
            delivery._provider_id_changed = True

    def close(self) -> None:
        """Wait for every queued message, then close the connection."""
        if self.thread is None:
            return
        self.queue.put(None)
        self.thread.join()
        self.thread = None
        try:
            self.connection.close()
        except Exception:  # noqa: BLE001
            logger.warning("Closing the email connection failed", exc_info=True)


def _failed(delivery: Delivery, error: Exception) -> None:
    delivery.status = Delivery.Status.FAILED
    delivery.error = f"{type(error).__name__}: {error}"
    delivery._send_failed = True
    logger.warning("Email delivery %s to contact %s failed: %s", delivery.token, delivery.contact_id, delivery.error)


def _reopen(connection) -> None:
    """After a failed send the connection may be gone: start a fresh one for the rest."""
    try:
        connection.close()
        connection.open()
    except Exception:  # noqa: BLE001  (the next send fails and says why)
        logger.warning("Reopening the email connection failed", exc_info=True)


def _prepared_delivery(prepared: PreparedEmail, message: EmailMessage, recipient: Recipient, reasons: dict,
                       now, token: uuid.UUID) -> tuple[Delivery, EmailMultiAlternatives | None]:
    """The delivery for one recipient and, unless it is skipped or failed, its email."""
    contact = recipient.contact
    delivery = Delivery(
        token=token, channel=Channel.EMAIL, contact=contact, email_message=message, purpose=message.purpose,
        campaign_id=recipient.campaign_id, run_id=recipient.run_id, step_key=recipient.step_key,
        to_address=(contact.email or "")[:254], created_at=now,
    )
    if contact.pk in reasons:
        delivery.status, delivery.reason = Delivery.Status.SKIPPED, reasons[contact.pk][:255]
        return delivery, None
    try:
        rendered = prepared.render(contact, delivery)
    except Exception as error:  # noqa: BLE001  (this contact's values broke a filter)
        delivery.status, delivery.error = Delivery.Status.FAILED, f"{type(error).__name__}: {error}"
        return delivery, None
    delivery.subject, delivery.links = rendered.subject[:255], rendered.links
    delivery.provider_message_id = make_msgid(domain=DNS_NAME)
    return delivery, build_email(prepared, rendered, delivery)


def _tokens(count: int) -> list[uuid.UUID]:
    """``count`` random (version 4) delivery tokens from one read of the system's random
    source: each read lets go of the interpreter, and getting it back while the sending
    thread works can take milliseconds."""
    randomness = os.urandom(16 * count)
    return [uuid.UUID(bytes=randomness[16 * i:16 * i + 16], version=4) for i in range(count)]


# A new delivery's row is written from every column of the object (the id comes back from
# the insert): a list kept by hand would silently drop a field added to the model later.
DELIVERY_FIELDS = tuple(f.attname for f in Delivery._meta.concrete_fields if not f.primary_key)


def _insert(deliveries: list[Delivery]) -> None:
    """Insert the new deliveries in one statement and give them their ids."""
    ids = insert_rows(Delivery, {name: [getattr(d, name) for d in deliveries] for name in DELIVERY_FIELDS},
                      returning=True)
    for delivery, pk in zip(deliveries, ids):
        delivery.pk = pk
        delivery._state.adding = False
        delivery._state.db = connection.alias


def send_emails(message: EmailMessage, recipients: list[Recipient], *, only_confirmed: bool = False,
                record: bool = True, prepared: PreparedEmail | None = None) -> SendBatch:
    """Send ``message`` to each recipient that may have it (see the module's docstring).

    ``record=False`` leaves the outcome for the caller to write with ``batch.record()`` in
    its own transaction. A message whose merge fields are broken raises
    ``MergeTemplateError`` before anything is written.
    """
    prepared = prepared or prepare(message)
    now = timezone.now()
    contacts = [r.contact for r in recipients]
    prefetch_related_objects([c for c in contacts if c.company_id], "company")
    reasons = skip_reasons(message, contacts, only_confirmed=only_confirmed, now=now)
    deliveries = []
    sender = Sender()
    try:
        for first in range(0, len(recipients), SEND_CHUNK):
            chunk = recipients[first:first + SEND_CHUNK]
            outgoing = [_prepared_delivery(prepared, message, recipient, reasons, now, token)
                        for recipient, token in zip(chunk, _tokens(len(chunk)))]
            _insert([delivery for delivery, _email in outgoing])
            deliveries += [delivery for delivery, _email in outgoing]
            sender.send([(delivery, email) for delivery, email in outgoing if email is not None])
    finally:
        sender.close()
    batch = SendBatch(deliveries, timezone.now())
    if record:
        with transaction.atomic():
            batch.record()
    return batch


def send_test(message: EmailMessage, to_email: str, as_contact: Contact | None = None) -> Delivery | None:
    """Send ``message`` to ``to_email`` (yourself), its subject marked as a test, merged with
    ``as_contact``'s values (or none: the fallbacks show). No gate, event or touchpoint; with
    ``as_contact`` a test delivery is kept and its links work, but clicking them records
    nothing and its unsubscribe link changes nothing. Returns that delivery (None without
    a contact). Raises the backend's error when sending fails."""
    prepared = prepare(message)
    contact = as_contact or Contact(email=to_email)
    delivery = Delivery(
        channel=Channel.EMAIL, contact=as_contact, email_message=message, purpose=message.purpose,
        test=True, to_address=to_email[:254], provider_message_id=make_msgid(domain=DNS_NAME),
    )
    rendered = prepared.render(contact, delivery if as_contact is not None else None)
    rendered.subject = _("[Test] %(subject)s") % {"subject": rendered.subject}
    email = build_email(prepared, rendered, delivery, tracked=as_contact is not None)
    if as_contact is None:
        email.send()
        return None
    delivery.subject, delivery.links = rendered.subject[:255], rendered.links
    delivery.save()
    email.send()
    Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.Status.SENT, sent_at=timezone.now())
    delivery.status = Delivery.Status.SENT
    return delivery
