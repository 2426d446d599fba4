"""The public links messages carry: open pixel, click redirect, one-click unsubscribe, the
preference page and the double opt-in confirmation.

Every link carries a value signed with the site's SECRET_KEY and a salt of its own, so a
link for one purpose never works for another and a forged or edited link is refused
(``BadLink``). Links do not expire: an email read a year later still unsubscribes.
Absolute URLs start with ``PUBLIC_BASE_URL`` (setting), else the default Wagtail site's
root URL.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core import signing
from django.core.signals import setting_changed
from django.urls import get_urlconf, reverse
from django.utils.crypto import salted_hmac

SALT = "wagtail_segments.messaging.links"


class BadLink(Exception):
    """A link whose signature does not match: forged, edited or cut short."""


class _KeptSigner(signing.TimestampSigner):
    """Django's signer, its tokens the same, with the HMAC key derived once rather than for
    each signature (``salted_hmac`` hashes the secret and the salt anew every time), and the
    timestamp written once a second."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._keyed = salted_hmac(self.salt + "signer", b"", self.key, algorithm=self.algorithm)
        self._second: int | None = None
        self._stamp = ""

    def signature(self, value, key=None) -> str:
        if key is not None:
            return super().signature(value, key)
        mac = self._keyed.copy()
        mac.update(value.encode())
        return signing.b64_encode(mac.digest()).decode()

    def timestamp(self) -> str:
        second = int(time.time())
        if second != self._second:
            self._second, self._stamp = second, signing.b62_encode(second)
        return self._stamp


_signers: dict[str, _KeptSigner] = {}


def sign(purpose: str, value) -> str:
    """The same token as ``signing.dumps(value, salt=…)``. Its signer is kept per purpose
    (making one reads the keys from the settings, and a batch of emails signs five links
    per message); nothing is compressed: ids and uuids do not shrink, and trying costs a
    zlib stream per link."""
    if purpose not in _signers:
        _signers[purpose] = _KeptSigner(salt=f"{SALT}.{purpose}")
    return _signers[purpose].sign_object(value)


def unsign(purpose: str, token: str):
    try:
        return signing.loads(token, salt=f"{SALT}.{purpose}")
    except (signing.BadSignature, ValueError, TypeError) as error:
        raise BadLink(str(error)) from error


def base_url() -> str:
    from wagtail.models import Site

    from wagtail_segments.conf import settings as conf

    if conf.PUBLIC_BASE_URL:
        return conf.PUBLIC_BASE_URL.rstrip("/")
    site = Site.objects.filter(is_default_site=True).first() or Site.objects.first()
    return site.root_url.rstrip("/") if site else "http://localhost"


def absolute(name: str, token: str, base: str | None = None) -> str:
    """``base``: the result of ``base_url()`` when the caller already has it (a batch of
    messages asks once instead of once per link)."""
    return (base or base_url()) + _path(name, token)


_PLACEHOLDER = "0wsgtoken0"
_paths: dict[tuple, tuple[str, str]] = {}


def _path(name: str, token: str) -> str:
    """``reverse()`` of the view with ``token``, from the reversed path cached per URLconf
    (a batch of emails makes several links per message; reversing each costs more than
    signing it). Signed tokens hold only characters a path keeps as they are."""
    key = (get_urlconf() or settings.ROOT_URLCONF, name)
    if key not in _paths:
        before, _, after = reverse(f"wagtail_segments:{name}", args=[_PLACEHOLDER]).partition(_PLACEHOLDER)
        _paths[key] = (before, after)
    before, after = _paths[key]
    return before + token + after


class BatchLinks:
    """The links of one batch of messages: the base URL and each view's path looked up once
    for the batch, not once per link."""

    def __init__(self, base: str | None = None) -> None:
        self.base = base or base_url()
        self._paths: dict[str, tuple[str, str]] = {}

    def _absolute(self, name: str, token: str) -> str:
        if name not in self._paths:
            before, _, after = _path(name, _PLACEHOLDER).partition(_PLACEHOLDER)
            self._paths[name] = (self.base + before, after)
        before, after = self._paths[name]
        return before + token + after

    def open_pixel(self, delivery) -> str:
        return self._absolute("email_open", sign("open", str(delivery.token)))

    def click(self, delivery, index: int) -> str:
        return self._absolute("email_click", sign("click", [str(delivery.token), index]))

    def unsubscribe(self, delivery) -> str:
        return self._absolute("unsubscribe", sign("unsubscribe", str(delivery.token)))

    def preferences(self, contact) -> str:
        return self._absolute("preferences", sign("preferences", str(contact.uuid)))


def open_pixel_url(delivery, base: str | None = None) -> str:
    return absolute("email_open", sign("open", str(delivery.token)), base)


def click_url(delivery, index: int, base: str | None = None) -> str:
    """The redirect to the ``index``-th URL of ``delivery.links``: nowhere else."""
    return absolute("email_click", sign("click", [str(delivery.token), index]), base)


def unsubscribe_url(delivery, base: str | None = None) -> str:
    return absolute("unsubscribe", sign("unsubscribe", str(delivery.token)), base)


def preference_url(contact, base: str | None = None) -> str:
    return absolute("preferences", sign("preferences", str(contact.uuid)), base)


def confirm_url(contact, channel: str = "email") -> str:
    return absolute("confirm", sign("confirm", [str(contact.uuid), channel]))


def _forget(**kwargs) -> None:
    """A changed URLconf or secret key (tests) must not meet a path or signer kept before."""
    _paths.clear()
    _signers.clear()


setting_changed.connect(_forget)
