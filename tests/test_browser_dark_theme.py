"""An editor who chose Wagtail's dark theme in their account reads the package's screens:
contacts, a contact, the segment builder and a segment's members with its chart, the campaign
builder, the dashboard and the reports. axe-core, colour contrast included, finds nothing
serious or critical on any of them, so no text stayed dark on dark; screenshots for a look."""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import expect
from wagtail.users.models import UserProfile

from tests import factories
from tests.axe import assert_accessible
from tests.browser import site_served_by
from tests.segment_helpers import rule, segment
from tests.test_browser_admin import sign_in
from wagtail_segments.campaigns.models import Run, StepLog
from wagtail_segments.messaging.models import Consent
from wagtail_segments.segments.models import SegmentDailyCount

pytestmark = pytest.mark.django_db(transaction=True)

ARTIFACTS = "tests/artifacts"


@pytest.fixture
def marketing(live_server):
    """A contact with a history, a dynamic segment with a month of sizes, and a campaign with
    a contact waiting in it, a failed run and a step still to finish (drawn as a problem)."""
    site_served_by(live_server)
    editor = get_user_model().objects.create_superuser("editor", "editor@example.com", "correct horse")
    profile = UserProfile.get_for_user(editor)
    profile.theme = "dark"
    profile.save()

    pricing = factories.content_page("Pricing")
    ann = factories.contact(email="ann@example.com", first_name="Ann", points=12, country="GB",
                            do_not_sms=True, do_not_sms_reason="opted out (preference page)")
    ann.tags.add("fair")
    for n in range(3):
        factories.event(factories.contact(email=f"viewer{n}@example.com"), "page_view", page=pricing)
    factories.event(ann, "page_view", page=pricing, path="/pricing/")
    Consent.objects.create(contact=ann, status=Consent.Status.CONFIRMED, source="form")
    viewers = segment(rule("page_views", page=pricing.pk), name="Pricing viewers", slug="pricing-viewers")
    today = timezone.localdate()
    for days_ago in range(30):
        SegmentDailyCount.objects.create(segment=viewers, date=today - datetime.timedelta(days=days_ago),
                                         count=4 + days_ago % 5)

    campaign = factories.campaign(name="Onboarding")
    send, wait = factories.chain(campaign, ("action", {"action": "add_tags", "tags": ["new"]}), ("wait", {"days": 2}))
    decision = factories.step(campaign, "decision", parent=wait, name="Became a customer?",
                              did="tagged", tag="customer", days=3)
    factories.step(campaign, "action", parent=decision, branch="yes", name="Thank them")  # no action chosen yet
    waiting = factories.run(campaign, ann, step=wait, state=Run.State.WAITING)
    StepLog.objects.create(run=waiting, step=send, state=StepLog.State.DONE)
    factories.run(campaign, factories.contact(email="bob@example.com"), step=send, state=Run.State.FAILED,
                  last_error="SMTPServerDisconnected: Connection unexpectedly closed")
    return {"contact": ann, "segment": viewers, "campaign": campaign}


def look(page, name: str) -> None:
    """A screenshot of the whole screen (the admin scrolls inside its own layout, so the window
    is made as tall as the page), then axe."""
    page.set_viewport_size({"width": 1400, "height": 900})  # what the last screen set would stay
    height = page.evaluate("() => Math.max(...[...document.querySelectorAll('body, body *')].map(e => e.scrollHeight))")
    page.set_viewport_size({"width": 1400, "height": min(max(height, 900), 5000)})
    page.screenshot(path=f"{ARTIFACTS}/dark_{name}.png", full_page=True)
    assert_accessible(page)


def test_every_marketing_screen_reads_well_in_the_dark_theme(page, live_requests, marketing):
    sign_in(page, "editor", "correct horse")
    assert "w-theme-dark" in page.locator("html").get_attribute("class")
    look(page, "dashboard")

    page.goto("/admin/wagtail_segments/contact/")
    expect(page.get_by_role("link", name="ann@example.com").first).to_be_visible()
    look(page, "contacts")

    page.goto(f"/admin/wagtail_segments/contact/inspect/{marketing['contact'].pk}/")
    expect(page.get_by_text("Viewed “Pricing”")).to_be_visible()
    look(page, "contact_detail")

    page.goto(f"/admin/wagtail_segments/segment/edit/{marketing['segment'].pk}/")
    expect(page.locator("[data-wsg-preview-count]")).to_have_attribute("data-wsg-preview-count", "4")
    look(page, "segment_builder")

    page.goto(f"/admin/marketing/segments/{marketing['segment'].pk}/members/")
    expect(page.locator(".wsg-chart svg")).to_be_visible()
    look(page, "segment_members")

    page.goto(f"/admin/marketing/campaigns/{marketing['campaign'].pk}/")
    expect(page.locator(".wsg-tree__node--problem", has_text="Thank them")).to_be_visible()
    look(page, "campaign_builder")

    page.goto(f"/admin/marketing/campaigns/{marketing['campaign'].pk}/runs/")
    expect(page.get_by_text("SMTPServerDisconnected").first).to_be_visible()
    look(page, "campaign_runs")

    page.goto("/admin/marketing/reports/segment-sizes/")
    expect(page.locator(".wsg-chart svg")).to_be_visible()
    look(page, "report_segment_sizes")

    page.goto("/admin/marketing/reports/campaign-funnel/")
    expect(page.get_by_role("heading", name="Campaign funnel: Onboarding")).to_be_visible()
    look(page, "report_campaign_funnel")
    live_requests.wait_until_idle()
