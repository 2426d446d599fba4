"""Phone numbers in E.164 (``+447700900123``), read with the ``phonenumbers`` library.

A number written without ``+country`` is read in the region of ``SMS_DEFAULT_REGION`` (an
ISO 3166 code such as ``"GB"``); with no default region only international numbers are
accepted, because guessing a country sends texts to strangers.

Numbers are normalised **when a text is sent**, not when a contact is saved: the contact
keeps what it typed or what was imported (the admin shows it as given), a change of
``SMS_DEFAULT_REGION`` applies to every stored number at once, and the request path (a form
submission saves a contact) does not pay for parsing.
"""

from __future__ import annotations

import phonenumbers
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
