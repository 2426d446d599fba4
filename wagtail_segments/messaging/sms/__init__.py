"""SMS backends: one small base class and one module per backend, chosen by the
``SMS_BACKEND`` setting (a dotted path), as Django does for email.

``outbox`` is where the in-memory backend (``locmem``) puts what it "sends", like
``django.core.mail.outbox``: tests read it and empty it.
"""

from __future__ import annotations

from .base import BaseSmsBackend, InboundMalformed, InboundSms, OutboundSms, SmsResult, get_backend

outbox: list[OutboundSms] = []

__all__ = ["BaseSmsBackend", "InboundMalformed", "InboundSms", "OutboundSms", "SmsResult", "get_backend", "outbox"]
