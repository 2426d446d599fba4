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

``send_one`` returns the provider's id for the message, or raises. ``send_messages`` turns
that into one ``SmsResult`` per message, in order: a message the provider refused carries
its error. With ``fail_silently=False`` (the default) the first error is raised instead,
as Django's mail backends do; the sender then records it on the delivery.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

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
