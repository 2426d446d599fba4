import pytest
from django.core.cache import cache

from wagtail_segments.tracking import recorder

BROWSER_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Safari/537.36"
)


@pytest.fixture(autouse=True)
def _fresh_state():
    """Each test starts with an empty cache (beacon rate limits) and a fresh debounce."""
    cache.clear()
    recorder._last_kick = float("-inf")
    yield
    cache.clear()


@pytest.fixture
def browser_client(client):
    """A test client that looks like a real browser (the default empty user agent is a bot)."""
    client.defaults["HTTP_USER_AGENT"] = BROWSER_UA
    return client
