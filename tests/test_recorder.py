"""The public track() API for host code and non-Wagtail views."""

from contextlib import nullcontext

import pytest
from django.core import signing
from django.db import transaction
from wagtail.models import Page

from tests import factories
from tests.conftest import BROWSER_UA
from wagtail_segments import track
from wagtail_segments.conf import settings as conf
from wagtail_segments.contacts.identity import COOKIE_SALT
from wagtail_segments.contacts.request_state import request_state
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
    assert request_state(request).cookie_pending


def test_track_a_request_respects_privacy_filters(rf):
    assert track(rf.get("/shop/", HTTP_USER_AGENT=BROWSER_UA, HTTP_DNT="1"), "custom") is None
    assert not Event.objects.exists()


@pytest.mark.parametrize("kind", ["", "x" * 41])
def test_track_refuses_an_unusable_kind(kind):
    with pytest.raises(ValueError):
        track(factories.contact(), kind)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("in_transaction", [False, True], ids=["autocommit", "in-a-transaction"])
def test_an_event_for_a_deleted_contact_and_page_goes_to_a_new_contact_without_the_page(rf, in_transaction):
    """A beacon with a signed page id of a page deleted since, from a visitor whose contact was
    erased: the event is still recorded, in either transaction mode, on a new contact."""
    page = factories.content_page()
    stale_page = Page.objects.get(pk=page.pk)
    erased = factories.contact()
    request = rf.get("/pricing/", HTTP_USER_AGENT=BROWSER_UA)
    request.COOKIES[conf.COOKIE_NAME] = signing.TimestampSigner(salt=COOKIE_SALT).sign(str(erased.pk))
    page.delete()
    erased.delete()
    with transaction.atomic() if in_transaction else nullcontext():
        event = track(request, "custom", page=stale_page)
    event.refresh_from_db()
    assert event.page_id is None
    assert event.contact_id != erased.pk
    assert Contact.objects.filter(pk=event.contact_id).exists()
    assert request_state(request).cookie_contact_id == event.contact_id


def test_track_a_request_cleans_visitor_text_and_drops_what_cannot_be_stored(rf):
    request = rf.get("/search/?utm_source=a%00b", HTTP_USER_AGENT=BROWSER_UA)
    event = track(request, "searched", query="shoes\x00\ud800")
    assert event.data == {"query": "shoes\ufffd"} and event.utm_source == "ab"
    assert track(rf.get("/", HTTP_USER_AGENT=BROWSER_UA), "scored", score=float("nan")) is None
    assert Event.objects.count() == 1
