"""The SMS backend interface, and how the site's backend is found.

A backend for a provider subclasses ``BaseSmsBackend`` and implements ``send_one`` (or
``send_messages`` when the provider takes a batch in one request)::

    import json, urllib.request

    from wagtail_segments.messaging.sms.base import BaseSmsBackend


    class AcmeSmsBackend(BaseSmsBackend):
        def __init__(self, fail_silently=False, **kwargs):
            super().__init__(fail_silently=fail_silently, **kwargs)
            self.api_key = kwargs.get("api_key") or os.environ["ACME_SMS_KEY"]

        def send_one(self, message):
            body = json.dumps({"to": message.to, "from": message.sender, "text": message.body})
            request = urllib.request.Request(
                "https://api.acme.example/v1/sms", data=body.encode(), method="POST",
                headers={"Authorization": f"Bearer {self.api_key}", "Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.load(response)["id"]   # the provider's message id

and the site sets ``WAGTAIL_SEGMENTS = {"SMS_BACKEND": "mysite.sms.AcmeSmsBackend"}``.

Receiving texts (STOP replies): a backend overrides ``parse_inbound`` to read its provider's
inbound webhook into ``InboundSms`` (from number, body), and ``verify_inbound`` when the
provider signs its requests instead of calling a URL with a secret token in it;
``inbound_response`` is what the provider is answered. The view that calls them is
``messaging.views.sms_inbound``; docs/messaging.md has a worked example.

``send_one`` returns the provider's id for the message, or raises. ``send_messages`` turns
that into one ``SmsResult`` per message, in order: a message the provider refused carries
its error. With ``fail_silently=False`` (the default) the first error is raised instead,
as Django's mail backends do; the sender then records it on the delivery.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string


@dataclass
class OutboundSms:
    """One text to one number, as a backend receives it (``to`` is E.164, e.g. +447700900123)."""

    to: str
    body: str
    sender: str = ""  # empty: the backend's or provider's default
    metadata: dict = field(default_factory=dict)  # e.g. the delivery's token, for provider callbacks


@dataclass
class SmsResult:
    """What happened to one message: the provider's id when accepted, else the error."""

    provider_id: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


@dataclass
class InboundSms:
    """One text a contact sent to the site's number, as the provider reported it."""

    sender: str  # the number it came from (E.164 from most providers)
    body: str
    provider_id: str = ""  # the provider's id for it, when it has one: a retried webhook is recorded once


class InboundMalformed(ValueError):
    """The request cannot be read as inbound texts: the view answers 400 with the message."""


class BaseSmsBackend:
    """Subclass and implement ``send_one`` (or ``send_messages``). ``open`` and ``close``
    hold a connection across a batch when the provider has one; the backend is also a
    context manager that does both."""

    def __init__(self, fail_silently: bool = False, **kwargs) -> None:
        self.fail_silently = fail_silently

    def open(self) -> None:
        """Open a connection to the provider if it needs one (optional)."""

    def close(self) -> None:
        """Close what ``open`` opened (optional)."""

    def __enter__(self) -> "BaseSmsBackend":
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def send_one(self, message: OutboundSms) -> str:
        """Send one message; return the provider's id for it (or "") or raise."""
        raise NotImplementedError("An SMS backend implements send_one() or send_messages().")

    def verify_inbound(self, request: HttpRequest, token: str) -> bool:
        """Whether an inbound webhook request comes from the provider. By default: ``token``
        (the last part of the URL the provider calls) equals the ``SMS_INBOUND_TOKEN``
        setting, compared in constant time; nothing passes while the setting is empty.
        Override to check the provider's signature instead."""
        from wagtail_segments.conf import settings as conf

        expected = conf.SMS_INBOUND_TOKEN or ""
        return bool(expected) and hmac.compare_digest(token.encode(), str(expected).encode())

    def parse_inbound(self, request: HttpRequest) -> list[InboundSms]:
        """The texts a verified inbound webhook request carries; ``InboundMalformed`` saying
        why when it cannot be read. A backend that receives texts implements this."""
        raise NotImplementedError("This SMS backend does not receive texts.")

    @property
    def receives_texts(self) -> bool:
        return type(self).parse_inbound is not BaseSmsBackend.parse_inbound

    def inbound_response(self, request: HttpRequest, messages: list[InboundSms]) -> HttpResponse:
        """The answer to an inbound webhook that was recorded: the same whether or not the
        numbers were known, so that it tells nobody who is a contact."""
        return HttpResponse(status=200)

    def send_messages(self, messages: Sequence[OutboundSms]) -> list[SmsResult]:
        results = []
        for message in messages:
            try:
                results.append(SmsResult(provider_id=str(self.send_one(message) or "")))
            except Exception as error:
                if not self.fail_silently:
                    raise
                results.append(SmsResult(error=f"{type(error).__name__}: {error}"))
        return results


DEFAULT_BACKEND = "wagtail_segments.messaging.sms.console.ConsoleSmsBackend"


def get_backend(path: str | None = None, *, fail_silently: bool = False, **kwargs) -> BaseSmsBackend:
    """An instance of the backend at ``path``, by default the ``SMS_BACKEND`` setting."""
    from wagtail_segments.conf import settings as conf

    cls = import_string(path or conf.SMS_BACKEND or DEFAULT_BACKEND)
    return cls(fail_silently=fail_silently, **kwargs)
