"""In a real browser: an editor changes a contact's renewal date with Wagtail's date picker and
its number of seats, reads the error on a number that is not one, corrects it and saves; an
answer stored under an undeclared key stays. axe-core finds nothing serious or critical on
the form, with and without the error."""

import pytest
from playwright.sync_api import expect

from tests import factories
from tests.axe import assert_accessible
from tests.test_browser_admin import sign_in
from tests.test_browser_admin_contacts import ARTIFACTS, editor_user  # noqa: F401 - a fixture
from wagtail_segments.contacts.models import Contact, PropertyDefinition

pytestmark = pytest.mark.django_db(transaction=True)


def test_editor_changes_a_date_and_a_number_property(page, live_requests, editor_user):
    PropertyDefinition.objects.create(key="seats", label="Seats", type="number", description="Licences bought")
    PropertyDefinition.objects.create(key="renewal", label="Renewal date", type="date")
    ann = factories.contact(email="ann@example.com", first_name="Ann",
                            properties={"seats": 4, "renewal": "2025-03-01", "your_interest": "<b>Demo</b>"})

    page.set_viewport_size({"width": 1280, "height": 2000})  # the admin scrolls inside: a tall window shows it all
    sign_in(page, "editor", "correct horse")
    page.goto(f"/admin/wagtail_segments/contact/edit/{ann.pk}/")
    expect(page.get_by_role("heading", name="Properties")).to_be_visible()
    others = page.get_by_role("table", name="Other properties")
    expect(others.get_by_role("row", name="your_interest <b>Demo</b>")).to_be_visible()
    assert_accessible(page)

    renewal = page.get_by_label("Renewal date")
    renewal.click()
    picker = page.locator(".xdsoft_datetimepicker:visible")
    expect(picker).to_be_visible()
    picker.locator(".xdsoft_next").first.click()  # April 2025
    picker.locator('td.xdsoft_date[data-date="15"][data-month="3"][data-year="2025"]').click()
    expect(renewal).to_have_value("2025-04-15")
    page.get_by_label("Seats").fill("a dozen")
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_text("“a dozen” is not a number.")).to_be_visible()
    seats_field = page.locator("[data-field]", has=page.get_by_label("Seats"))
    expect(seats_field).to_contain_text("“a dozen” is not a number.")
    expect(page.get_by_label("Renewal date")).to_have_value("2025-04-15")  # kept for the next try
    page.screenshot(path=f"{ARTIFACTS}/contact_form_property_error.png", full_page=True)
    assert_accessible(page)

    page.get_by_label("Seats").fill("12")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Contact 'Ann <ann@example.com>' updated.")).to_be_visible()
    live_requests.wait_until_idle()

    ann = Contact.objects.get(pk=ann.pk)
    assert ann.properties == {"seats": 12, "renewal": "2025-04-15", "your_interest": "<b>Demo</b>"}
    page.goto(f"/admin/wagtail_segments/contact/edit/{ann.pk}/")
    expect(page.get_by_label("Seats")).to_have_value("12")
    page.screenshot(path=f"{ARTIFACTS}/contact_form_properties.png", full_page=True)
    page.emulate_media(color_scheme="dark")
    assert_accessible(page)
    page.emulate_media(color_scheme="light")


def test_editor_declares_a_property_by_its_label_and_the_key_follows(page, live_requests, editor_user):
    sign_in(page, "editor", "correct horse")
    page.goto("/admin/wagtail_segments/propertydefinition/create/")
    page.get_by_role("textbox", name="Label").fill("Renewal date - Größe")
    page.get_by_role("textbox", name="Label").press("Tab")
    expect(page.get_by_role("textbox", name="Key")).to_have_value("renewal_date_grosse")
    page.get_by_role("combobox", name="Type").select_option(label="Date")
    page.screenshot(path=f"{ARTIFACTS}/property_create.png", full_page=True)
    assert_accessible(page)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("link", name="Renewal date - Größe")).to_be_visible()
    live_requests.wait_until_idle()

    assert PropertyDefinition.objects.get().key == "renewal_date_grosse"
