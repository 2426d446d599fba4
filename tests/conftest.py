import pytest
from django.core.cache import cache

from wagtail_segments.segments import receivers
from wagtail_segments.tracking import recorder

BROWSER_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Safari/537.36"
)


@pytest.fixture(autouse=True)
def _fresh_state():
    """Each test starts with an empty cache (beacon rate limits) and a fresh debounce."""
    cache.clear()
    recorder.reset_debounce()
    receivers._pending.buffer = None  # a rolled-back test transaction never flushed it
    yield
    cache.clear()


@pytest.fixture
def browser_client(client):
    """A test client that looks like a real browser (the default empty user agent is a bot)."""
    client.defaults["HTTP_USER_AGENT"] = BROWSER_UA
    return client


# Browser tests (tests/test_browser_*.py): a real headless Chromium against pytest-django's
# live_server. Those tests need committed data the server thread can see,
# ``pytest.mark.django_db(transaction=True)``, and set up their site with
# ``tests.browser.site_served_by(live_server)``. They wait for the live server through
# ``live_requests`` before reading the database (see tests/browser.py for why).


def pytest_collection_modifyitems(items):
    """Every test in a test_browser_* module is marked ``browser`` (``-m "not browser"`` leaves
    them out)."""
    for item in items:
        if item.path.name.startswith("test_browser_"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium shared by a test module's tests."""
    from tests.browser import chromium

    with chromium() as launched:
        yield launched


@pytest.fixture
def live_requests(live_server):
    """The requests the live server handles during the test (tests.browser.ServerRequests)."""
    from tests.browser import ServerRequests

    requests = ServerRequests().connect()
    yield requests
    requests.disconnect()


@pytest.fixture
def page(browser, live_server, live_requests):
    """A page of a fresh browser context (no cookies) whose relative URLs go to the live server.

    Closing it fires the page's pagehide beacon; teardown waits until the server has handled
    that, so that no request writes while the database is being flushed for the next test.
    """
    from tests.browser import new_page

    with new_page(browser, base_url=live_server.url) as opened:
        yield opened
    live_requests.wait_until_idle(quiet=0.3)


def _hypothesis_profiles():
    import os

    from hypothesis import HealthCheck, settings

    common = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}
    settings.register_profile("ci", max_examples=50, derandomize=True, **common)
    settings.register_profile("dev", max_examples=25, **common)
    settings.load_profile("ci" if os.environ.get("CI") else "dev")


_hypothesis_profiles()


@pytest.fixture
def sms_outbox(settings):
    """Texts go to the in-memory SMS backend; returns the list of what was "sent"."""
    from wagtail_segments.messaging import sms

    settings.WAGTAIL_SEGMENTS = {
        **(getattr(settings, "WAGTAIL_SEGMENTS", None) or {}),
        "SMS_BACKEND": "wagtail_segments.messaging.sms.locmem.LocmemSmsBackend",
    }
    sms.outbox.clear()
    yield sms.outbox
    sms.outbox.clear()


@pytest.fixture
def smtp_sink():
    """An SMTP server on 127.0.0.1 collecting what it receives (tests/smtp.py): ``.messages``,
    ``.wait_for(n)``, ``.host``, ``.port`` (for Django's SMTP EmailBackend)."""
    from tests.smtp import smtp_sink as sink

    with sink() as started:
        yield started
