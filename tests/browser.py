"""Driving a real headless Chromium (Debian's, at /usr/bin/chromium) with Playwright's sync API.

Not a test module: ``tests/conftest.py`` builds the ``browser`` and ``page`` fixtures from it.

Playwright's sync API keeps an asyncio event loop running in the test's thread, so Django's
ORM there would raise SynchronousOnlyOperation. ``chromium()`` sets DJANGO_ALLOW_ASYNC_UNSAFE
only while the browser is open and restores the previous value afterwards, so that the rest of
the suite keeps Django's check.

On the default in-memory SQLite database the live server's threads and the test share one
connection, so the test must not query while the server is still handling a request (that
gives "database table is locked"). Tests therefore wait for the server, not for the database:
``ServerRequests`` follows the live server's requests through Django's request_started and
request_finished signals, which also sees the beacons a page sends while it unloads (Playwright
does not report those).
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

CHROMIUM = "/usr/bin/chromium"
# Headless Chromium says "HeadlessChrome" in its user agent, which the tracking filters rightly
# take for a bot, so the visitor's browser presents itself as the desktop Chrome it is. This has
# to be the browser's own default (--user-agent): Playwright's per-context override does not
# reach the beacon a page sends on pagehide, which would arrive as "HeadlessChrome" and be
# ignored.
DESKTOP_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Safari/537.36"
)
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    f"--user-agent={DESKTOP_UA}",
]
# How long a browser step may wait for the page (a block's fields rendered by the admin's
# scripts, a chooser opening). CI runs the suite three times on two cores, with a live server
# and PostgreSQL beside the browser: 5 s was seen to run out there once.
DEFAULT_TIMEOUT_MS = 15_000


@contextmanager
def allow_orm_beside_event_loop() -> Iterator[None]:
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@contextmanager
def chromium():
    """A launched headless Chromium (a Playwright ``Browser``), closed on exit."""
    from playwright.sync_api import sync_playwright

    with allow_orm_beside_event_loop(), sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def new_page(browser, base_url: str, user_agent: str = DESKTOP_UA, **context_options):
    """A page in a fresh browser context (its own cookies), closed on exit."""
    context = browser.new_context(
        base_url=base_url, user_agent=user_agent,
        viewport={"width": 1280, "height": 900}, **context_options,
    )
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    from playwright.sync_api import expect

    expect.set_options(timeout=DEFAULT_TIMEOUT_MS)  # the same wait for expect(...) assertions
    # Nothing asks the server for a favicon behind the test's back, and nothing leaves the
    # machine (the admin asks Gravatar for avatars and releases.wagtail.org for news).
    context.route("**/favicon.ico", lambda route: route.fulfill(status=404, body=""))
    context.route(re.compile(rf"^(?!{re.escape(base_url)}/)https?://"), lambda route: route.abort())
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


class ServerRequests:
    """The requests the live server has started and finished while connected, e.g.
    ``requests.wait_for("POST", "/_segments/beacon/")`` before reading what a beacon recorded."""

    def __init__(self):
        self.started: list[tuple[str, str]] = []
        self.finished: list[tuple[str, str]] = []
        self._current = threading.local()
        self._changed = threading.Condition()

    def connect(self):
        from django.core.signals import request_finished, request_started

        request_started.connect(self._on_started, weak=False, dispatch_uid=id(self))
        request_finished.connect(self._on_finished, weak=False, dispatch_uid=id(self))
        return self

    def disconnect(self):
        from django.core.signals import request_finished, request_started

        request_started.disconnect(dispatch_uid=id(self))
        request_finished.disconnect(dispatch_uid=id(self))

    def _on_started(self, sender, environ=None, **kwargs):
        request = ((environ or {}).get("REQUEST_METHOD", ""), (environ or {}).get("PATH_INFO", ""))
        self._current.request = request
        with self._changed:
            self.started.append(request)
            self._changed.notify_all()

    def _on_finished(self, sender, **kwargs):
        request = getattr(self._current, "request", None)
        if request is None:
            return
        self._current.request = None
        with self._changed:
            self.finished.append(request)
            self._changed.notify_all()

    def count(self, method: str, path: str) -> int:
        with self._changed:
            return self.finished.count((method, path))

    def wait_for(self, method: str, path: str, count: int = 1, timeout: float = 5.0) -> None:
        """Wait until the server has finished ``count`` requests of ``method`` to ``path``."""
        with self._changed:
            done = self._changed.wait_for(
                lambda: self.finished.count((method, path)) >= count, timeout=timeout
            )
            if not done:
                raise AssertionError(
                    f"The server finished {self.finished.count((method, path))} of {count} "
                    f"{method} {path} within {timeout}s; it saw {self.finished}"
                )

    def wait_until_idle(self, quiet: float = 0.0, timeout: float = 5.0) -> None:
        """Wait until no request is in progress and, with ``quiet``, none has started for
        ``quiet`` seconds (e.g. to be sure a request that should not come did not)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                seen = len(self.started)
                busy = seen > len(self.finished)
                now = time.monotonic()
                if now >= deadline:
                    raise AssertionError(f"The server was still busy after {timeout}s")
                if busy:
                    self._changed.wait(deadline - now)
                    continue
                quiet_until = now + quiet
                while len(self.started) == seen and time.monotonic() < quiet_until:
                    self._changed.wait(quiet_until - time.monotonic())
                if len(self.started) == seen:
                    return


def site_served_by(live_server):
    """The test site's home page, with the default Wagtail Site naming the live server's
    host and port (localhost:PORT), so that page URLs and site lookups match what the
    browser asks for."""
    from urllib.parse import urlsplit

    from wagtail.models import Site

    from tests import factories

    home = factories.home_page()
    address = urlsplit(live_server.url)
    Site.objects.filter(is_default_site=True).update(hostname=address.hostname, port=address.port)
    Site.clear_site_root_paths_cache()
    return home
