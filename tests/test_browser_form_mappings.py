"""An editor opens Marketing → Form mappings, sends a form's "Seats" answers to the declared
"Team size" property and saves; a visitor sends the form; the editor reads the typed value
on the contact. axe-core finds nothing serious on the listing or the edit screen."""

import pytest
from playwright.sync_api import expect

from tests import factories
from tests.admin_helpers import editor
from tests.axe import assert_accessible
from tests.browser import new_page, site_served_by
from tests.test_browser_admin import sign_in
from wagtail_segments.models import Contact, FormMapping, PropertyDefinition

pytestmark = pytest.mark.django_db(transaction=True)

ARTIFACTS = "tests/artifacts"


def test_editor_maps_a_form_field_to_a_property_and_sees_the_visitors_answer_there(
        browser, page, live_server, live_requests):
    site_served_by(live_server)
    PropertyDefinition.objects.create(key="team_size", label="Team size", type="number")
    form = factories.form_page("Book a demo", fields=[("Email", "email"), ("Seats", "singleline")],
                               thank_you_text="<p>Thanks, see you soon.</p>")
    user = editor("marketer", "view_formmapping", "change_formmapping", "view_contact")
    user.set_password("correct horse")
    user.save()

    sign_in(page, "marketer", "correct horse")
    page.get_by_role("button", name="Marketing", exact=True).click()
    page.get_by_role("list", name="Marketing").get_by_role("link", name="Form mappings").click()
    expect(page.get_by_role("row", name="Book a demo 2 0 Email")).to_be_visible()
    page.screenshot(path=f"{ARTIFACTS}/form_mappings.png", full_page=True)
    assert_accessible(page)

    page.get_by_role("link", name="Book a demo").click()
    # the email identifies the submitter: its row says so, with no select of where it goes
    email_row, seats_row = (page.locator("table.wsg-mapping tbody tr").nth(n) for n in (0, 1))
    expect(email_row.get_by_text("Identifies the submitter")).to_be_visible()
    expect(email_row.locator("select")).to_be_hidden()
    expect(seats_row.get_by_text("Identifies the submitter")).to_be_hidden()
    identifying = page.get_by_label("Field that identifies the submitter")
    identifying.select_option(label="Seats (Single line text)")  # the rows follow the choice
    expect(seats_row.get_by_text("Identifies the submitter")).to_be_visible()
    expect(email_row.locator("select")).to_be_visible()
    identifying.select_option(value="")
    expect(email_row.locator("select")).to_be_hidden()
    seats = page.get_by_label("Seats", exact=True)
    expect(seats).to_have_value("")  # the default: a property of its own name
    expect(seats.locator("option:checked")).to_have_text("Default: property “seats” (not declared)")
    seats.select_option(label="Team size (Number)")
    page.screenshot(path=f"{ARTIFACTS}/form_mapping_edit.png", full_page=True)
    assert_accessible(page)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Form mapping of “Book a demo” saved.")).to_be_visible()
    expect(page.get_by_role("row", name="Book a demo 2 1 Email")).to_be_visible()
    live_requests.wait_until_idle()
    assert FormMapping.objects.get(page=form).targets == {"seats": "properties.team_size"}

    with new_page(browser, base_url=live_server.url) as visitor:
        visitor.goto(form.url)
        visitor.get_by_label("Email").fill("ann@example.com")
        visitor.get_by_label("Seats").fill("12")
        visitor.get_by_role("button", name="Send").click()
        expect(visitor.get_by_text("Thanks, see you soon.")).to_be_visible()
    live_requests.wait_until_idle(quiet=0.3)
    contact = Contact.objects.get(email="ann@example.com")
    assert contact.properties == {"team_size": 12}

    page.goto(f"/admin/wagtail_segments/contact/inspect/{contact.pk}/")
    properties = page.locator(".wsg-properties")
    expect(properties.locator("dt")).to_have_text(["Team size"])
    expect(properties.locator("dd")).to_have_text(["12"])
    live_requests.wait_until_idle()
