"""Texts contacts send to the site's number: each recorded as an ``sms_received`` event on
the contacts with that number, and the standard keywords acted on.

The whole message, trimmed and in any case, is a keyword when it is one of
``OPT_OUT_KEYWORDS`` (the contact opts out of texts: ``opt_out_sms``) or ``OPT_IN_KEYWORDS``
(it opts back in: ``opt_in_sms``). "Stop please" is a reply like any other.

A number is matched to contacts by its E.164 form, ``Contact.phone_e164``, which every write
of a contact's phone keeps (``contacts/phone.py``): one indexed equality per inbound request,
whatever the size of the contact table. A number shared by several contacts (a family's
landline) is recorded on each, and a STOP opts each out. A number no contact has is ignored: no contact is made, nothing is kept.
"""

from __future__ import annotations

import logging
from collections import defaultdict

from django.db import IntegrityError, transaction
from django.utils import timezone

from wagtail_segments.contacts.models import Contact, Event, EventKind
from wagtail_segments.contacts.pass_queue import schedule_event_processing
from wagtail_segments.contacts.phone import e164_or_none
from wagtail_segments.tracking.storable import storable_text

from .models import ProviderEvent
from .sms import InboundSms
from .sms_sending import opt_in_sms, opt_out_sms

logger = logging.getLogger(__name__)

OPT_OUT_KEYWORDS = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit"})
OPT_IN_KEYWORDS = frozenset({"start", "unstop"})
SOURCE = "SMS reply"  # the source of the opt-outs and opt-ins recorded here
MAX_BODY = 1600  # characters of a text kept on its event (ten SMS parts)
PROVIDER = "sms"  # ProviderEvent.provider of inbound texts: a retried webhook is recorded once


def keyword(body: str) -> str:
    """The opt-out or opt-in keyword the whole of ``body`` is, upper case, else ""."""
    word = (body or "").strip().casefold()
    return word.upper() if word in OPT_OUT_KEYWORDS | OPT_IN_KEYWORDS else ""


def contacts_by_number(numbers: set[str]) -> dict[str, list[Contact]]:
    """The contacts (not merged away) whose phone is each of ``numbers`` (E.164), by number."""
    found = defaultdict(list)
    if numbers:
        for contact in Contact.objects.live().with_phone(numbers).order_by("pk"):
            found[contact.phone_e164].append(contact)
    return found


def receive_sms(messages: list[InboundSms]) -> int:
    """Record ``messages`` on the contacts with their numbers, and act on keywords, all in one
    transaction. Returns how many events were recorded (for logs and tests, never for the
    provider: the answer to a webhook must not say whether a number is known)."""
    numbered = [(message, e164_or_none(message.sender)) for message in messages]
    contacts = contacts_by_number({number for _message, number in numbered if number})
    recorded = 0
    with transaction.atomic():
        for message, number in numbered:
            if not contacts.get(number) or not _first_time(message):
                continue
            body = storable_text(message.body, lines=True)
            word = keyword(body)
            now = timezone.now()
            for contact in contacts[number]:
                data = {"from": number, "body": body[:MAX_BODY]}
                if word:
                    data["keyword"] = word
                if len(body) > MAX_BODY:
                    data["cut"] = True
                Event.objects.create(contact=contact, kind=EventKind.SMS_RECEIVED, time=now, data=data)
                recorded += 1
                if word.casefold() in OPT_OUT_KEYWORDS:
                    opt_out_sms(contact, source=SOURCE, keyword=word)
                elif word:
                    opt_in_sms(contact, source=SOURCE, keyword=word)
        if recorded:
            schedule_event_processing()
    ignored = len(messages) - sum(1 for _message, number in numbered if contacts.get(number))
    if ignored:
        logger.info("%s inbound text(s) from numbers no contact has were ignored", ignored)
    return recorded


def _first_time(message: InboundSms) -> bool:
    """False when a message with the same provider id was recorded before (a webhook retried)."""
    if not message.provider_id:
        return True
    try:
        with transaction.atomic():
            ProviderEvent.objects.create(provider=PROVIDER, event_id=storable_text(message.provider_id, 255))
    except IntegrityError:
        return False
    return True
