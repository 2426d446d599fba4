"""Writes each text to a stream (standard output by default) instead of sending it: for
development and for the demo, where a person reads what would have gone out."""

from __future__ import annotations

import sys
import threading
import uuid

from .base import BaseSmsBackend, OutboundSms
from .json_inbound import JsonInboundMixin


class ConsoleSmsBackend(JsonInboundMixin, BaseSmsBackend):
    """Prints each text; receives texts in the JSON format of ``json_inbound.py``."""

    def __init__(self, fail_silently: bool = False, stream=None, **kwargs) -> None:
        super().__init__(fail_silently=fail_silently, **kwargs)
        self.stream = stream or sys.stdout
        self._lock = threading.RLock()  # two threads' messages are not interleaved

    def send_one(self, message: OutboundSms) -> str:
        provider_id = f"console-{uuid.uuid4().hex[:12]}"
        with self._lock:
            self.stream.write(
                f"SMS to {message.to}" + (f" from {message.sender}" if message.sender else "")
                + f" ({provider_id})\n{message.body}\n{'-' * 40}\n"
            )
            self.stream.flush()
        return provider_id
