"""In a real browser: an editor changes a contact's renewal date with Wagtail's date picker and
its number of seats, reads the error on a number that is not one, corrects it and saves; an
answer stored under an undeclared key stays. axe-core finds nothing serious or critical on
the form, with and without the error."""

import re

import pytest
from playwright.sync_api import expect

from tests import factories
from tests.axe import assert_accessible
from tests.test_browser_admin import sign_in
from tests.test_browser_admin_contacts import ARTIFACTS, editor_user  # noqa: F401 - a fixture
from wagtail_segments.contacts.models import Contact, PropertyDefinition

pytestmark = pytest.mark.django_db(transaction=True)
QUOTED_TAG = re.compile('^"Trade fair 2025"$')  # Wagtail's tag widget shows a name with spaces quoted


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


def test_editor_picks_a_country_by_name_a_company_with_the_chooser_and_a_tag_from_autocomplete(
        page, live_requests, editor_user):
    from wagtail_segments.contacts.models import Company, ContactTag

    acme = Company.objects.create(name="Acme Widgets", domain="acme.example")
    Company.objects.bulk_create(Company(name=f"Filler {i:02}") for i in range(30))
    ContactTag.objects.create(name="Trade fair 2025")
    ann = factories.contact(email="ann@example.com", first_name="Ann")

    page.set_viewport_size({"width": 1280, "height": 2000})
    sign_in(page, "editor", "correct horse")
    page.goto(f"/admin/wagtail_segments/contact/edit/{ann.pk}/")

    page.get_by_role("combobox", name="Country").select_option(label="Germany")

    page.get_by_role("button", name="Choose a company").click()
    modal = page.locator(".modal-dialog")
    expect(modal.get_by_role("heading", name="Choose a company")).to_be_visible()
    modal.get_by_role("textbox", name="Search term").fill("widg")
    expect(modal.get_by_role("link", name="Filler 00")).to_have_count(0)
    modal.get_by_role("link", name="Acme Widgets").click()
    expect(page.locator("#id_company-title")).to_have_text("Acme Widgets")

    tags = page.get_by_role("textbox", name="Tags")  # tag-it's own input, labelled by tag_widget.js
    tags.press_sequentially("trad", delay=50)
    suggestion = page.locator(".ui-autocomplete .ui-menu-item", has_text="Trade fair 2025")
    expect(suggestion).to_be_visible()
    page.screenshot(path=f"{ARTIFACTS}/contact_form_pickers.png", full_page=True)
    assert_accessible(page)
    suggestion.click()
    expect(page.locator("ul.tagit .tagit-label")).to_have_text([QUOTED_TAG])

    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Contact 'Ann <ann@example.com>' updated.")).to_be_visible()
    live_requests.wait_until_idle()

    ann = Contact.objects.get(pk=ann.pk)
    assert (ann.country, ann.company, list(ann.tags.names())) == ("DE", acme, ["Trade fair 2025"])
    page.goto(f"/admin/wagtail_segments/contact/inspect/{ann.pk}/")
    expect(page.get_by_text("Acme Widgets")).to_be_visible()
    expect(page.get_by_text("Germany")).to_be_visible()
    expect(page.locator("ul.tagit .tagit-label")).to_have_text([QUOTED_TAG])
    page.screenshot(path=f"{ARTIFACTS}/contact_detail_pickers.png", full_page=True)
    assert_accessible(page)
