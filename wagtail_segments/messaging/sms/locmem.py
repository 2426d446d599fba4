"""Keeps each text in ``wagtail_segments.messaging.sms.outbox`` instead of sending it: for
tests, like Django's in-memory email backend."""

from __future__ import annotations

import copy

from .base import BaseSmsBackend, OutboundSms
from .json_inbound import JsonInboundMixin


class LocmemSmsBackend(JsonInboundMixin, BaseSmsBackend):
    """Keeps each text in ``outbox``; receives texts in the JSON format of ``json_inbound.py``."""

    def send_one(self, message: OutboundSms) -> str:
        from wagtail_segments.messaging import sms

        sms.outbox.append(copy.deepcopy(message))
        return f"locmem-{len(sms.outbox)}"
