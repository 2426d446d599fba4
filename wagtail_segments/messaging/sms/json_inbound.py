"""The inbound format of the included backends (console and in-memory): a JSON object, or a
list of at most ``MAX_MESSAGES`` of them, each ``{"from": "+14155552671", "body": "STOP"}``
with an optional ``"id"`` (the provider's id: the same id posted twice is recorded once).
For development and tests: a real provider's backend reads that provider's own format."""

from __future__ import annotations

import json

from django.http import HttpRequest
from django.utils.translation import gettext as _

from .base import InboundMalformed, InboundSms

MAX_MESSAGES = 100


def _message(item) -> InboundSms:
    if not isinstance(item, dict):
        raise InboundMalformed(_("Each message must be a JSON object."))
    sender, body, provider_id = item.get("from"), item.get("body"), item.get("id", "")
    if not isinstance(sender, str) or not sender.strip():
        raise InboundMalformed(_("Each message needs “from”, the number it came from."))
    if not isinstance(body, str):
        raise InboundMalformed(_("Each message needs “body”, its text."))
    if not isinstance(provider_id, (str, int)) or isinstance(provider_id, bool):
        raise InboundMalformed(_("A message's “id” must be text."))
    return InboundSms(sender=sender.strip(), body=body, provider_id=str(provider_id))


class JsonInboundMixin:
    """Reads the JSON inbound format above; mix in before ``BaseSmsBackend``."""

    def parse_inbound(self, request: HttpRequest) -> list[InboundSms]:
        try:
            payload = json.loads(request.body.decode("utf-8"))
        except ValueError:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            raise InboundMalformed(_("The payload is not JSON.")) from None
        items = payload if isinstance(payload, list) else [payload]
        if not items or len(items) > MAX_MESSAGES:
            raise InboundMalformed(_("Send between 1 and %(n)s messages at a time.") % {"n": MAX_MESSAGES})
        return [_message(item) for item in items]
