"""An SMTP sink for tests: aiosmtpd on 127.0.0.1 at a free port, collecting what it receives
in the test process (``sink.messages``: ``email.message.EmailMessage`` objects, in order)."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
import time
from contextlib import contextmanager
from typing import Iterator

from aiosmtpd.controller import Controller


def free_port() -> int:
    """A free port on 127.0.0.1. aiosmtpd's readiness check connects to the port it was
    given, so not 0: ask the system first (another process taking it in between is unlikely)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def smtp_settings(port: int) -> dict:
    """Django settings that send through a sink on ``port``."""
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": port, "EMAIL_USE_TLS": False,
        "EMAIL_HOST_USER": "", "EMAIL_HOST_PASSWORD": "",
    }


class _Collect:
    def __init__(self, sink: "SmtpSink"):
        self.sink = sink

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        with self.sink.lock:
            self.sink.messages.append(message)
            self.sink.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"


class SmtpSink:
    def __init__(self):
        self.messages: list = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.lock = threading.Lock()
        self.host, self.port = "127.0.0.1", 0
        self._controller: Controller | None = None

    def start(self) -> "SmtpSink":
        self.port = free_port()
        self._controller = Controller(_Collect(self), hostname=self.host, port=self.port, ready_timeout=10)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()

    def wait_for(self, count: int, timeout: float = 10) -> list:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(self.messages)


@contextmanager
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    try:
        yield sink
    finally:
        sink.stop()
