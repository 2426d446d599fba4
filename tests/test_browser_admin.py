"""An editor in the Wagtail admin: signs in through the real form, finds Marketing → Contacts
in the menu and reads a contact's page, where a visitor's form answers show as the text they
typed, never as markup or script."""

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from tests import factories
from tests.browser import new_page, site_served_by
from wagtail_segments.models import Contact

pytestmark = pytest.mark.django_db(transaction=True)

HOSTILE = "<script>window.__xss = 1</script><b>bold</b>"
NON_LATIN = "東京 — Ελληνικά — עברית — Привет"
SCREENSHOT = "/tmp/contact_inspect.png"


@pytest.fixture
def visitor_who_sent_the_form(browser, live_server, live_requests):
    """A visitor reads a page, then sends the contact form with hostile and non-Latin answers,
    in their own browser."""
    site_served_by(live_server)
    pricing = factories.content_page("Pricing")
    form = factories.form_page(
        fields=[("Email", "email"), ("First name", "singleline"), ("Company", "singleline"),
                ("Message", "multiline")],
        thank_you_text="<p>Thanks, we will be in touch.</p>",
    )
    with new_page(browser, base_url=live_server.url) as visitor:
        visitor.goto(pricing.url)
        visitor.goto(form.url)
        visitor.get_by_label("Email").fill("ann@example.com")
        visitor.get_by_label("First name").fill("Ann")
        visitor.get_by_label("Company").fill(NON_LATIN)
        visitor.get_by_label("Message").fill(HOSTILE)
        visitor.get_by_role("button", name="Send").click()
        expect(visitor.get_by_text("Thanks, we will be in touch.")).to_be_visible()
    live_requests.wait_until_idle(quiet=0.3)
    return Contact.objects.get(email="ann@example.com")


def sign_in(page, username, password):
    page.goto("/admin/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/admin/")


def test_editor_reads_a_contacts_answers_as_text(page, live_requests, visitor_who_sent_the_form):
    contact = visitor_who_sent_the_form
    get_user_model().objects.create_superuser("editor", "editor@example.com", "correct horse")

    sign_in(page, "editor", "correct horse")
    page.get_by_role("button", name="Marketing", exact=True).click()
    page.get_by_role("list", name="Marketing").get_by_role("link", name="Contacts", exact=True).click()  # not the dashboard panel
    expect(page.get_by_role("heading", name="Contacts", exact=True)).to_be_visible()
    row = page.get_by_role("row").filter(has_text="ann@example.com")
    row.hover()
    row.get_by_role("link", name="Inspect").click()
    page.wait_for_url(f"**/inspect/{contact.pk}/")
    live_requests.wait_until_idle()
    # Wagtail's admin scrolls inside its layout, so a tall window shows the whole page.
    page.set_viewport_size({"width": 1280, "height": 2000})
    page.screenshot(path=SCREENSHOT)

    # The answers read as typed, in the timeline and in the contact's properties...
    answer = page.locator(".wsg-answer").filter(has_text=HOSTILE)
    expect(answer).to_have_count(1)
    expect(answer).to_have_text(HOSTILE)
    expect(answer.locator("*")).to_have_count(0)
    expect(page.locator(".wsg-answer").filter(has_text=NON_LATIN)).to_have_text(NON_LATIN)
    expect(page.get_by_text(HOSTILE, exact=True)).to_have_count(2)
    for shown in page.get_by_text(HOSTILE, exact=True).all():
        expect(shown).to_be_visible()
    expect(page.get_by_text(NON_LATIN, exact=True).first).to_be_visible()
    # ...and nothing in them ran or became markup.
    assert page.evaluate("() => typeof window.__xss") == "undefined"
    expect(page.locator("b").filter(has_text="bold")).to_have_count(0)
    expect(page.locator("script").filter(has_text="__xss")).to_have_count(0)

    timeline = page.locator(".wsg-timeline")
    # Entries read as sentences (the timeline says what the contact did, not the event kind).
    expect(timeline.get_by_role("cell", name="Submitted “Contact us”")).to_have_count(1)
    expect(timeline.get_by_role("cell", name="Viewed “Pricing”")).to_have_count(1)
