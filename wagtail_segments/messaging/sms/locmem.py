"""Keeps each text in ``wagtail_segments.messaging.sms.outbox`` instead of sending it: for
tests, like Django's in-memory email backend."""

from __future__ import annotations

import copy

from .base import BaseSmsBackend, OutboundSms


class LocmemSmsBackend(BaseSmsBackend):
    def send_one(self, message: OutboundSms) -> str:
        from wagtail_segments.messaging import sms

        sms.outbox.append(copy.deepcopy(message))
        return f"locmem-{len(sms.outbox)}"
