"""An editor previews an email as a contact found by search and sends a test to herself, and
reads the merge fields beside an SMS; axe-core finds nothing serious on these screens."""

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from playwright.sync_api import expect

from tests import factories
from tests.axe import assert_accessible
from tests.browser import site_served_by
from tests.test_browser_admin import sign_in
from tests.test_browser_admin_contacts import editor_user  # noqa: F401 - a fixture
from wagtail_segments.messaging.models import EmailMessage

pytestmark = pytest.mark.django_db(transaction=True)

ARTIFACTS = "tests/artifacts"


def test_editor_previews_an_email_as_a_contact_and_sends_a_test(page, live_requests, live_server):
    pytest.importorskip("wagtail_segments.messaging.rendering")  # the email slice
    site_served_by(live_server)
    get_user_model().objects.create_superuser("editor", "editor@example.com", "correct horse")
    factories.contact(email="ada@example.com", first_name="Ada")
    EmailMessage.objects.create(name="Welcome", subject="Hello {{ first_name|default:'there' }}",
                                body=[("text", "<p>Dear {{ first_name|default:'friend' }}, welcome.</p>")])
    sign_in(page, "editor", "correct horse")
    page.goto("/admin/wagtail_segments/emailmessage/")
    page.get_by_role("link", name="Preview").first.click()
    expect(page.locator("[data-preview-subject]")).to_have_text("Hello there")
    page.get_by_label("Preview as (search by email or name)").fill("ada")
    page.locator("#main").get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Ada <ada@example.com>").first.click()
    expect(page.locator("[data-preview-subject]")).to_have_text("Hello Ada")
    expect(page.frame_locator("iframe").get_by_text("Dear Ada, welcome.")).to_be_visible()
    page.screenshot(path=f"{ARTIFACTS}/email_preview.png", full_page=True)
    assert_accessible(page)
    page.get_by_role("button", name="Send a test to editor@example.com").click()
    expect(page.get_by_text("Test sent to editor@example.com.")).to_be_visible(timeout=15_000)
    live_requests.wait_until_idle()
    assert mail.outbox[-1].to == ["editor@example.com"]


def test_editor_opens_the_broadcast_form(page, live_requests, live_server):
    site_served_by(live_server)
    get_user_model().objects.create_superuser("editor", "editor@example.com", "correct horse")
    EmailMessage.objects.create(name="June news", subject="June")
    sign_in(page, "editor", "correct horse")
    page.goto("/admin/wagtail_segments/campaign/")
    page.get_by_role("link", name="Send a broadcast").click()
    page.get_by_label("at a set time").check()
    page.get_by_role("button", name="Send the broadcast").click()
    expect(page.get_by_text("This field is required.").first).to_be_visible()
    page.screenshot(path=f"{ARTIFACTS}/broadcast_form.png", full_page=True)
    assert_accessible(page)


def test_editor_reads_the_merge_fields_beside_an_sms(page, live_requests, editor_user):
    from wagtail_segments.contacts.models import PropertyDefinition

    PropertyDefinition.objects.create(key="renewal_date", label="Renewal date", type="date")
    sign_in(page, "editor", "correct horse")
    page.goto("/admin/wagtail_segments/smsmessage/create/")
    fields = page.get_by_role("table", name="Merge fields")
    expect(fields.get_by_role("row", name="{{ properties.renewal_date }} Renewal date (Date)")).to_be_visible()
    page.screenshot(path=f"{ARTIFACTS}/sms_merge_fields.png", full_page=True)
    assert_accessible(page)
