"""The public track() API for host code and non-Wagtail views."""

import pytest

from tests import factories
from tests.conftest import BROWSER_UA
from wagtail_segments import track
from wagtail_segments.models import Contact, Event

pytestmark = pytest.mark.django_db


def test_track_a_contact_from_host_code():
    contact = factories.contact(email="a@example.com")
    page = factories.content_page()
    event = track(contact, "webinar_attended", webinar="Q3 roadmap", page=page)
    assert event.contact == contact and event.kind == "webinar_attended"
    assert event.data == {"webinar": "Q3 roadmap"} and event.page == page


def test_track_a_merged_contact_records_on_the_survivor():
    survivor = factories.contact(email="a@example.com")
    old = factories.contact(merged_into=survivor)
    assert track(old, "custom").contact == survivor


def test_track_a_request_creates_the_visitor_and_keeps_request_details(rf):
    request = rf.get("/shop/checkout/?utm_source=ads", HTTP_USER_AGENT=BROWSER_UA)
    event = track(request, "checkout_started", basket=3)
    assert event.path == "/shop/checkout/?utm_source=ads" and event.utm_source == "ads"
    assert event.data == {"basket": 3}
    assert Contact.objects.count() == 1
    assert request._wsg_cookie_pending


def test_track_a_request_respects_privacy_filters(rf):
    assert track(rf.get("/shop/", HTTP_USER_AGENT=BROWSER_UA, HTTP_DNT="1"), "custom") is None
    assert not Event.objects.exists()


@pytest.mark.parametrize("kind", ["", "x" * 41])
def test_track_refuses_an_unusable_kind(kind):
    with pytest.raises(ValueError):
        track(factories.contact(), kind)


def test_track_a_request_cleans_visitor_text_and_drops_what_cannot_be_stored(rf):
    request = rf.get("/search/?utm_source=a%00b", HTTP_USER_AGENT=BROWSER_UA)
    event = track(request, "searched", query="shoes\x00\ud800")
    assert event.data == {"query": "shoes\ufffd"} and event.utm_source == "ab"
    assert track(rf.get("/", HTTP_USER_AGENT=BROWSER_UA), "scored", score=float("nan")) is None
    assert Event.objects.count() == 1
