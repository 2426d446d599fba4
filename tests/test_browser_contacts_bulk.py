"""An editor filters the contacts listing by a tag and adds all 300 contacts it matches to a
static segment in one bulk action; axe-core finds nothing serious on the listing or the
confirmation page."""

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from tests.axe import assert_accessible
from tests.browser import site_served_by
from tests.segment_helpers import segment
from tests.test_browser_admin import sign_in
from wagtail_segments.models import Contact, ContactTag, TaggedContact

pytestmark = pytest.mark.django_db(transaction=True)

ARTIFACTS = "tests/artifacts"


@pytest.fixture
def fair_visitors(live_server):
    """300 contacts met at a trade fair (tagged "fair") among 20 others."""
    site_served_by(live_server)
    Contact.objects.bulk_create(
        [Contact(email=f"visitor{n}@example.com", email_key=f"visitor{n}@example.com") for n in range(300)]
        + [Contact(email=f"other{n}@example.com", email_key=f"other{n}@example.com") for n in range(20)]
    )
    fair = ContactTag.objects.create(name="fair", slug="fair")
    TaggedContact.objects.bulk_create(
        [TaggedContact(tag=fair, content_object=c) for c in Contact.objects.filter(email__startswith="visitor")]
    )
    get_user_model().objects.create_superuser("editor", "editor@example.com", "correct horse")
    return segment(kind="static", name="Fair visitors", slug="fair-visitors", build=False)


def test_editor_adds_everyone_the_filter_matches_to_a_static_segment(page, live_requests, fair_visitors):
    sign_in(page, "editor", "correct horse")
    page.goto("/admin/wagtail_segments/contact/")
    page.get_by_label("Tag", exact=True).fill("fair")
    page.get_by_label("Tag", exact=True).press("Enter")  # submits the tag filter's own form
    page.wait_for_url("**/contact/?*tag=fair*")
    expect(page.get_by_text("All 300 contacts these filters match")).to_be_visible()
    page.set_viewport_size({"width": 1280, "height": 1400})
    page.screenshot(path=f"{ARTIFACTS}/contacts_bulk_listing.png")
    assert_accessible(page)
    page.emulate_media(color_scheme="dark")
    page.screenshot(path=f"{ARTIFACTS}/contacts_bulk_listing_dark.png")
    assert_accessible(page)
    page.emulate_media(color_scheme="light")

    page.get_by_label("Bulk action").select_option(label="Add to a segment")
    page.get_by_label("All 300 contacts these filters match").check()
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("[data-wsg-bulk-count]")).to_have_attribute("data-wsg-bulk-count", "300")
    page.get_by_label("Segment").select_option(label="Fair visitors")
    page.screenshot(path=f"{ARTIFACTS}/contacts_bulk_confirm.png")
    assert_accessible(page)
    page.get_by_role("button", name="Add to a segment: 300 contacts").click()

    page.wait_for_url("**/contact/?*tag=fair*")
    expect(page.get_by_text("Done. Add to a segment: 300 contacts (300 changed).")).to_be_visible()
    live_requests.wait_until_idle()
    assert fair_visitors.members().count() == 300
    assert not fair_visitors.members().filter(email__startswith="other").exists()
