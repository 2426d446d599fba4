"""In a real browser: an editor adds a "Tags" rule to a segment and picks the tag from the
contact tags the tag widget suggests; the live count follows, and axe-core finds the widget's
own input labelled."""

import pytest
from playwright.sync_api import expect

from tests import factories
from tests.axe import assert_accessible
from tests.browser import site_served_by
from tests.test_browser_segment_builder import ARTIFACTS, expect_count, new_segment_with_rule

pytestmark = pytest.mark.django_db(transaction=True)


def test_editor_picks_a_contact_tag_in_a_tags_rule(page, live_requests, live_server):
    site_served_by(live_server)
    for n in range(3):
        factories.contact(email=f"buyer{n}@example.com").tags.add("big customer")
    factories.contact(email="other@example.com").tags.add("prospect")
    rules = new_segment_with_rule(page, "Big customers", "Tags")
    typed = rules.get_by_role("textbox", name="Tags")  # tag-it's input, labelled by tag_widget.js
    typed.press_sequentially("big", delay=50)
    suggestion = page.locator(".ui-autocomplete .ui-menu-item", has_text="big customer")
    expect(suggestion).to_be_visible()
    suggestion.click()
    expect_count(page, "3")

    page.set_viewport_size({"width": 1280, "height": 2000})
    page.screenshot(path=f"{ARTIFACTS}/segment_tags_rule.png", full_page=True)
    assert_accessible(page)
