"""Phone numbers in E.164 (``+447700900123``), read with the ``phonenumbers`` library.

A number written without ``+country`` is read in the region of ``SMS_DEFAULT_REGION`` (an
ISO 3166 code such as ``"GB"``); with no default region only international numbers are
accepted, because guessing a country sends texts to strangers.

A contact keeps its phone as typed or imported (the admin shows it as given) and, beside it,
``phone_e164``: the same number in E.164, blank when it is not a valid number. Every write of
``phone`` sets it (``Contact.save``, the CSV importer's bulk writes, merges), so that an inbound
text finds its contacts with one indexed equality. What a national number means depends on
``SMS_DEFAULT_REGION``: after changing it, ``manage.py normalise_phones`` reads every stored
phone again (``renormalise_phones``, which the backfill migration runs too). A text is sent to
the number normalised at send time, with the setting of the day.
"""

from __future__ import annotations

import phonenumbers
from django.db import models, transaction
from django.utils.translation import gettext as _

from wagtail_segments.conf import settings as conf


class InvalidPhone(ValueError):
    """A number that cannot receive texts; its message says why, for the delivery's reason."""


def normalise_phone(raw: str, region: str | None = None) -> str:
    """``raw`` in E.164, or ``InvalidPhone`` saying why not.

    ``region`` (default: ``SMS_DEFAULT_REGION``) is the country of numbers written without
    ``+country``.
    """
    raw = (raw or "").strip()
    if not raw:
        raise InvalidPhone(_("No phone number."))
    region = (region if region is not None else conf.SMS_DEFAULT_REGION) or None
    if region is None and not raw.startswith(("+", "00")):
        raise InvalidPhone(_("The phone number has no country code (+…) and no default region is set."))
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    try:
        number = phonenumbers.parse(raw, region.upper() if region else None)
    except phonenumbers.NumberParseException:
        raise InvalidPhone(_("“%(phone)s” is not a phone number.") % {"phone": raw}) from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(_("“%(phone)s” is not a valid phone number.") % {"phone": raw})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def e164_or_none(raw: str, region: str | None = None) -> str | None:
    """``raw`` in E.164, or None when it is missing or invalid."""
    try:
        return normalise_phone(raw, region)
    except InvalidPhone:
        return None


def phone_e164(raw: str) -> str:
    """What ``Contact.phone_e164`` holds for the phone ``raw``: E.164, or "" when invalid."""
    if not raw or raw.isspace():  # most contacts (every visitor's): no parsing, no exception
        return ""
    return e164_or_none(raw) or ""


def renormalise_phones(contacts: models.QuerySet, batch_size: int = 2000) -> int:
    """Set ``phone_e164`` again from ``phone`` on every contact of ``contacts`` (a queryset of
    ``Contact`` or of the historical model a migration gives), one primary-key range per
    transaction: a million contacts are never one transaction nor held in memory at once.
    Returns how many rows changed."""
    model = contacts.model
    contacts = contacts.exclude(phone="", phone_e164="")  # nothing to read, nothing to clear
    changed = 0
    last = 0
    while True:
        with transaction.atomic():
            rows = list(
                contacts.filter(pk__gt=last).order_by("pk").values_list("pk", "phone", "phone_e164")[:batch_size]
            )
            if not rows:
                return changed
            last = rows[-1][0]
            stale = [model(pk=pk, phone_e164=e164) for pk, phone, stored in rows
                     if (e164 := phone_e164(phone)) != stored]
            model._default_manager.bulk_update(stale, ["phone_e164"], batch_size=500)
            changed += len(stale)
