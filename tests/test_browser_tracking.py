"""What a visitor's real browser sends: the beacon script loads on Wagtail pages, reports time
on page when the visitor leaves, carries site scripts' custom events, records page views on
cached sites, and the identity cookie stays out of reach of page scripts."""

import pytest
from django.test import override_settings

from tests import factories
from tests.browser import site_served_by
from wagtail_segments.conf import settings as conf
from wagtail_segments.models import Contact, Event

pytestmark = pytest.mark.django_db(transaction=True)

BEACON_JS = "/static/wagtail_segments/beacon.js"
BEACON = conf.BEACON_PATH


@pytest.fixture
def pricing(live_server):
    site_served_by(live_server)
    return factories.content_page("Pricing")


def visit(page, live_requests, url):
    """Open ``url`` as a visitor would; return once the beacon script has loaded and run and
    the server has finished the page's requests."""
    with page.expect_response(lambda r: r.url.endswith(BEACON_JS)) as script:
        response = page.goto(url)
    assert response.status == 200
    assert script.value.status == 200
    page.wait_for_function("() => typeof window.wagtailSegments === 'object'")
    live_requests.wait_until_idle()
    return response


def events(kind):
    return list(Event.objects.filter(kind=kind).order_by("id"))


def cookie_of(page):
    return {c["name"]: c for c in page.context.cookies()}.get(conf.COOKIE_NAME)


def test_time_on_page_is_recorded_when_the_visitor_leaves(page, live_requests, pricing):
    about = factories.content_page("About")
    visit(page, live_requests, pricing.url)
    assert page.get_by_role("heading", name="Pricing").is_visible()
    page.mouse.wheel(0, 400)
    page.wait_for_timeout(1500)

    visit(page, live_requests, about.url)  # leaving Pricing: the beacon sends on pagehide
    live_requests.wait_for("POST", BEACON)

    [view, _] = events("page_view")
    [spent] = events("time_on_page")
    assert view.page_id == pricing.pk
    assert spent.contact_id == view.contact_id
    assert spent.page_id == pricing.pk
    assert spent.path == pricing.url
    assert 1.0 < spent.data["seconds"] < 10
    assert Contact.objects.count() == 1


def test_a_site_script_records_a_custom_event(page, live_requests, pricing):
    visit(page, live_requests, pricing.url)

    page.evaluate("""() => window.wagtailSegments.track("video_played", {video: "intro"})""")
    live_requests.wait_for("POST", BEACON)

    [view] = events("page_view")
    [custom] = events("custom")
    assert custom.data == {"name": "video_played", "data": {"video": "intro"}}
    assert custom.contact_id == view.contact_id
    assert custom.page_id == pricing.pk
    assert custom.path == pricing.url


def test_on_a_cached_site_the_beacon_records_the_page_view_once(page, live_requests, pricing):
    with override_settings(WAGTAIL_SEGMENTS={"PAGE_VIEWS": "beacon"}):
        visit(page, live_requests, pricing.url)
        live_requests.wait_for("POST", BEACON)
        live_requests.wait_until_idle(quiet=0.3)  # a second view would have been sent by now

    assert live_requests.count("POST", BEACON) == 1
    [view] = events("page_view")
    assert view.page_id == pricing.pk
    assert view.path == pricing.url
    assert cookie_of(page)["value"].startswith(f"{view.contact_id}:")


def test_the_contact_cookie_is_hidden_from_page_scripts(page, live_requests, pricing):
    visit(page, live_requests, pricing.url)
    [view] = events("page_view")

    cookie = cookie_of(page)
    assert cookie is not None
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    assert cookie["value"].startswith(f"{view.contact_id}:")
    assert conf.COOKIE_NAME not in page.evaluate("() => document.cookie")

    # The browser still sends it: the next visit is the same contact.
    visit(page, live_requests, pricing.url)
    assert [e.contact_id for e in events("page_view")] == [view.contact_id] * 2
    assert Contact.objects.count() == 1
