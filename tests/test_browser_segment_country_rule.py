"""In a real browser: an editor adds a "Country" rule to a segment and picks countries by
name from the list; the live count follows, the segment saves their codes, and axe-core
finds the list labelled."""

import pytest
from playwright.sync_api import expect

from tests import factories
from tests.axe import assert_accessible
from tests.browser import site_served_by
from tests.test_browser_segment_builder import ARTIFACTS, expect_count, new_segment_with_rule
from wagtail_segments.segments.models import Segment

pytestmark = pytest.mark.django_db(transaction=True)


def test_editor_picks_countries_by_name_in_a_country_rule(page, live_requests, live_server):
    site_served_by(live_server)
    for n, country in enumerate(["FR", "FR", "DE", "US"]):
        factories.contact(email=f"person{n}@example.com", country=country)
    rules = new_segment_with_rule(page, "Europe", "Country")
    countries = rules.get_by_role("listbox", name="Countries")
    countries.select_option(label="France")
    expect_count(page, "2")
    countries.select_option(label=["France", "Germany"])
    expect_count(page, "3")

    page.set_viewport_size({"width": 1280, "height": 2000})
    page.screenshot(path=f"{ARTIFACTS}/segment_country_rule.png", full_page=True)
    assert_accessible(page)
    page.get_by_role("button", name="Save").first.click()
    expect(page.get_by_text("Europe").first).to_be_visible()
    assert Segment.objects.get(name="Europe").rules.raw_data[0]["value"]["countries"] == "FR, DE"
