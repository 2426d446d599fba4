"""An editor opens the three marketing reports from the Marketing menu, reads the numbers,
chooses another segment with the report's filter, narrows the email results to a campaign and
to days when nothing was sent; axe-core finds nothing serious on each."""

import datetime
import re

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import expect

from tests import factories
from tests.axe import assert_accessible
from tests.browser import site_served_by
from tests.test_browser_admin import sign_in
from wagtail_segments.campaigns.models import Run, StepLog
from wagtail_segments.messaging.models import Delivery
from wagtail_segments.segments.models import Segment, SegmentDailyCount

pytestmark = pytest.mark.django_db(transaction=True)

ARTIFACTS = "tests/artifacts"


def test_editor_reads_the_marketing_reports(page, live_requests, live_server):
    site_served_by(live_server)
    get_user_model().objects.create_superuser("editor", "editor@example.com", "correct horse")
    today = timezone.localdate()
    customers = Segment.objects.create(name="Customers", slug="customers", kind="static", member_count=140)
    trial = Segment.objects.create(name="Trial users", slug="trial", kind="static", member_count=30)
    for days_ago in range(30):
        SegmentDailyCount.objects.create(segment=customers, date=today - datetime.timedelta(days=days_ago),
                                         count=140 - days_ago * 2)
    SegmentDailyCount.objects.create(segment=trial, date=today, count=30)
    campaign = factories.campaign(name="Onboarding")
    send, wait = factories.chain(campaign, ("action", {"action": "add_tag", "tags": ["new"]}), ("wait", {"days": 2}))
    decision = factories.step(campaign, "decision", parent=wait, name="Opened the welcome?")
    factories.step(campaign, "action", parent=decision, branch="yes", name="Thank them")
    for n in range(3):
        run = factories.run(campaign, factories.contact(email=f"p{n}@example.com"), step=wait, state=Run.State.WAITING)
        StepLog.objects.create(run=run, step=send, state=StepLog.State.DONE)
    welcome = factories.email_message(name="Welcome", subject="Hello")
    person = factories.contact(email="ada@example.com")
    Delivery.objects.create(contact=person, email_message=welcome, to_address=person.email, campaign_id=campaign.pk,
                            status=Delivery.Status.SENT, sent_at=timezone.now(), opened_at=timezone.now())

    sign_in(page, "editor", "correct horse")
    page.get_by_role("button", name="Marketing", exact=True).click()
    page.get_by_role("list", name="Marketing").get_by_role("link", name="Segment sizes over time").click()
    expect(page.get_by_role("heading", name="Segment sizes over time: Customers")).to_be_visible()
    expect(page.get_by_role("img", name="Members of “Customers”, last 90 days")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile(r"^\S.* 140 2$"))).to_be_visible()  # today: 140, up 2
    page.screenshot(path=f"{ARTIFACTS}/report_segment_sizes.png", full_page=True)
    assert_accessible(page)

    page.goto(f"/admin/marketing/reports/segment-sizes/?segment={trial.pk}")
    expect(page.get_by_role("heading", name="Segment sizes over time: Trial users")).to_be_visible()

    page.goto("/admin/marketing/reports/campaign-funnel/")
    expect(page.get_by_role("heading", name="Campaign funnel: Onboarding")).to_be_visible()
    expect(page.get_by_role("row", name="Thank them On the branch Yes Action 0 0% 0 0")).to_be_visible()
    page.screenshot(path=f"{ARTIFACTS}/report_campaign_funnel.png", full_page=True)
    assert_accessible(page)

    page.goto("/admin/marketing/reports/email-results/")
    expect(page.get_by_role("row", name="Welcome Hello 1 0 1 0 100.0% 0.0% 0 0")).to_be_visible()
    page.get_by_role("button", name="Show filters").click()
    page.get_by_role("button", name="Campaign").click()
    page.get_by_label("Campaign").select_option(label="Onboarding")
    expect(page).to_have_url(re.compile(rf"campaign={campaign.pk}"))
    expect(page.get_by_role("row", name="Welcome Hello 1 0 1 0 100.0% 0.0% 0 0")).to_be_visible()
    page.screenshot(path=f"{ARTIFACTS}/report_email_results.png", full_page=True)
    assert_accessible(page)
    page.get_by_role("button", name="Back").click()
    page.get_by_role("button", name="Sent between").click()
    page.get_by_placeholder("Date from").fill((today - datetime.timedelta(days=10)).isoformat())
    page.get_by_placeholder("Date to").fill((today - datetime.timedelta(days=5)).isoformat())
    page.get_by_placeholder("Date to").press("Enter")
    expect(page.get_by_text("No emails")).to_be_visible()
    live_requests.wait_until_idle()
