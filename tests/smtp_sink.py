"""A local SMTP server (aiosmtpd) that keeps what it receives: for the end-to-end email test
and the sending benchmark. ``keep=False`` only counts messages (the benchmark's sink must
not be the bottleneck it measures)."""

from __future__ import annotations

import socket
import threading
from contextlib import contextmanager
from email import message_from_bytes
from typing import Iterator

from aiosmtpd.controller import Controller


class Collector:
    def __init__(self, keep: bool = True) -> None:
        self.keep = keep
        self.messages: list = []
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
            if self.keep:
                self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def smtp_sink(keep: bool = True) -> Iterator[tuple[Collector, int]]:
    """A running sink on 127.0.0.1: yields (collector, port)."""
    collector = Collector(keep)
    port = free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield collector, port
    finally:
        controller.stop()


def smtp_settings(port: int) -> dict:
    """Django settings that send through the sink."""
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": port, "EMAIL_USE_TLS": False,
        "EMAIL_HOST_USER": "", "EMAIL_HOST_PASSWORD": "",
    }
