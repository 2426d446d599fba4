"""An editor creates a campaign with a wait and a decision in the builder, activates it, and
sees a contact move through it: the engine runs in-process between page loads. An editor
sets a property with an action whose value input follows the property's type. axe-core
finds nothing serious on the listing, the builder, the step forms or the run page."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from tests import factories
from tests.axe import assert_accessible
from tests.browser import site_served_by
from tests.test_browser_admin import sign_in
from wagtail_segments.campaigns.entry import enrol
from wagtail_segments.campaigns.executor import run_due_steps
from wagtail_segments.campaigns.models import Campaign, Run
from wagtail_segments.models import PropertyDefinition

pytestmark = pytest.mark.django_db(transaction=True)

ARTIFACTS = "tests/artifacts"


@pytest.fixture
def editor(live_server):
    site_served_by(live_server)
    get_user_model().objects.create_superuser("editor", "editor@example.com", "correct horse")
    return factories.contact(email="ada@example.com", first_name="Ada")


def add_step(page, button_name, kind, fill, action=None):
    page.get_by_role("link", name=button_name).click()
    page.get_by_label(kind, exact=True).check()
    if action:
        page.locator("#id_action").select_option(label=action)
    page.get_by_role("button", name="Continue").click()
    fill(page)
    page.get_by_role("button", name="Save step").click()
    expect(page.get_by_text("added.")).to_be_visible()


def engine(live_requests) -> None:
    """The engine's loop, in the test's process, once the server is idle (one SQLite connection)."""
    live_requests.wait_until_idle()
    while run_due_steps():
        pass


def test_editor_builds_activates_and_follows_a_contact(page, live_requests, editor):
    ada = editor
    sign_in(page, "editor", "correct horse")
    page.goto("/admin/wagtail_segments/campaign/")
    assert_accessible(page)
    page.get_by_role("link", name="Add campaign").first.click()
    page.locator("#id_name").fill("Trial follow-up")
    page.screenshot(path=f"{ARTIFACTS}/campaign_form.png", full_page=True)
    assert_accessible(page)
    page.get_by_role("button", name="Save").first.click()
    expect(page.get_by_role("link", name="Trial follow-up")).to_be_visible()
    page.screenshot(path=f"{ARTIFACTS}/campaign_listing.png")
    page.get_by_role("link", name="Steps").first.click()

    add_step(page, "Add the first step", "Wait", lambda p: (
        p.locator("#id_name").fill("Give them a day"), p.locator("#id_amount").fill("1")))

    def decision(p):
        p.locator("#id_name").fill("Became a customer?")
        p.locator("#id_did").select_option(label="get a tag")
        tag = p.get_by_role("textbox", name="Tag")  # Wagtail's tag widget, completing from contact tags
        tag.press_sequentially("customer")
        tag.press("Enter")
        expect(p.locator("ul.tagit .tagit-label")).to_have_text(["customer"])
        p.locator("#id_amount").fill("3")
        p.screenshot(path=f"{ARTIFACTS}/campaign_step_form.png", full_page=True)
        assert_accessible(p)
    add_step(page, "Add a step after Give them a day", "Decision", decision)
    # the decision's empty yes-branch is shown on it until it has a step
    expect(page.locator(".wsg-outline .wsg-problem")).to_have_text("its “Yes” branch is empty.")
    add_step(page, "Add a step on Yes of Became a customer?", "Action",
             lambda p: (p.locator("#id_name").fill("Thank you points"), p.locator("#id_points").fill("10")),
             action="Change points")
    expect(page.locator(".wsg-outline .wsg-problem")).to_have_count(0)

    page.get_by_role("button", name="Activate").click()
    expect(page.get_by_text("Campaign activated")).to_be_visible()
    campaign = Campaign.objects.get(name="Trial follow-up")
    live_requests.wait_until_idle()
    assert campaign.status == "active"

    enrol(campaign, [ada])
    engine(live_requests)
    page.reload()
    wait_node = page.locator(".wsg-tree__node", has_text="Give them a day")
    expect(wait_node.locator("[data-at]")).to_have_attribute("data-at", "1")
    page.set_viewport_size({"width": 1400, "height": 1100})
    page.screenshot(path=f"{ARTIFACTS}/campaign_builder.png", full_page=True)
    assert_accessible(page)
    page.emulate_media(color_scheme="dark")
    page.screenshot(path=f"{ARTIFACTS}/campaign_builder_dark.png", full_page=True)
    assert_accessible(page)
    page.emulate_media(color_scheme="light")

    live_requests.wait_until_idle()
    Run.objects.filter(contact=ada).update(next_due_at=timezone.now())  # a day passes
    engine(live_requests)
    page.reload()
    decision_node = page.locator(".wsg-tree__node", has_text="Became a customer?")
    expect(decision_node.locator("[data-at]")).to_have_attribute("data-at", "1")
    expect(wait_node.locator("[data-through]")).to_have_attribute("data-through", "1")

    live_requests.wait_until_idle()
    ada.tags.add("customer")  # the decision's answer moves the run down yes at once
    engine(live_requests)
    page.reload()
    points_node = page.locator(".wsg-tree__node", has_text="Thank you points")
    expect(points_node.locator("[data-through]")).to_have_attribute("data-through", "1")
    expect(decision_node.locator("[data-at]")).to_have_attribute("data-at", "0")
    page.screenshot(path=f"{ARTIFACTS}/campaign_builder_after.png", full_page=True)

    page.get_by_role("link", name="Runs").first.click()
    assert_accessible(page)
    page.get_by_role("link", name="Ada").click()
    expect(page.locator("[data-run-state]")).to_have_attribute("data-run-state", "completed")
    expect(page.get_by_role("cell", name="Thank you points")).to_be_visible()
    page.screenshot(path=f"{ARTIFACTS}/campaign_run.png", full_page=True)
    assert_accessible(page)
    live_requests.wait_until_idle()
    ada.refresh_from_db()
    assert ada.points == 10


def test_the_value_of_a_set_field_step_follows_the_chosen_fields_type(page, live_requests, editor):
    PropertyDefinition.objects.create(key="seats", label="Seats", type="number")
    PropertyDefinition.objects.create(key="renewal", label="Renewal date", type="date")
    campaign = factories.campaign(status="draft", name="Renewals")
    sign_in(page, "editor", "correct horse")
    page.goto(reverse("wagtail_segments_campaign_builder", args=[campaign.pk]))
    page.get_by_role("link", name="Add the first step").click()
    page.get_by_label("Action", exact=True).check()
    page.locator("#id_action").select_option(label="Set a contact field or property")
    page.get_by_role("button", name="Continue").click()

    target = page.get_by_label("Contact field or property")
    text, number, date, yes_no = (page.locator(f"#id_value_{kind}") for kind in ("text", "number", "date", "boolean"))
    target.select_option(label="Seats (Number)")
    expect(number).to_be_visible()
    expect(number).to_have_attribute("type", "number")
    for hidden in (text, date, yes_no):
        expect(hidden).to_be_hidden()
    target.select_option(label="Do not email")
    expect(yes_no).to_be_visible()
    expect(number).to_be_hidden()
    target.select_option(label="First name")
    expect(text).to_be_visible()
    target.select_option(label="Renewal date (Date)")
    expect(date).to_be_visible()
    expect(text).to_be_hidden()
    date.click()
    expect(page.locator(".xdsoft_datetimepicker").first).to_be_visible()  # Wagtail's date picker

    # the country is chosen by name; a value that does not fit its type is refused on its input
    page.locator("#id_name").fill("Renew at year end")  # elsewhere: the picker closes
    target.select_option(label="Country")
    country = page.locator("#id_value_country")
    expect(country).to_be_visible()
    expect(text).to_be_hidden()
    country.select_option(label="France")
    target.select_option(label="Phone")  # a contact field is checked by its column
    text.fill("0" * 51)
    page.get_by_role("button", name="Save step").click()
    expect(page.get_by_text("Ensure this value has at most 50 characters (it has 51).")).to_be_visible()
    expect(page.locator("#id_value_text")).to_be_visible()  # still the text input, after the round trip
    expect(page.locator("#id_value_country")).to_be_hidden()
    expect(page.locator("#id_value_date")).to_be_hidden()
    page.screenshot(path=f"{ARTIFACTS}/campaign_set_field_step.png", full_page=True)
    assert_accessible(page)

    page.get_by_label("Contact field or property").select_option(label="Renewal date (Date)")
    page.locator("#id_value_date").fill("2026-12-31")
    page.locator("#id_name").press("Enter")  # the picker stays open over the button: submit from the name
    expect(page.get_by_text("added.")).to_be_visible()
    live_requests.wait_until_idle()
    assert campaign.steps.get().config == {"action": "set_field", "property": "renewal", "value": "2026-12-31"}
