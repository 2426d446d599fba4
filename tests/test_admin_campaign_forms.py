"""The builder's step forms offer lists in the editor's words, not keys to type: the contact
fields by their names, properties with their types, webhook secrets by the names the site
gave them."""

import pytest

from wagtail_segments.admin.campaign_forms import step_form
from wagtail_segments.contacts.models import PropertyDefinition

pytestmark = pytest.mark.django_db


def choices(form, name: str) -> list[tuple[str, str]]:
    return [(str(value), str(label)) for value, label in form.fields[name].choices]


def test_set_field_offers_contact_fields_by_name_and_properties_with_their_type():
    PropertyDefinition.objects.create(key="seats", label="Seats", type="number")
    PropertyDefinition.objects.create(key="renewal", label="Renewal date", type="date")

    form = step_form("action", action="set_field")

    assert ("first_name", "First name") in choices(form, "field")
    assert ("do_not_email", "Do not email") in choices(form, "field")
    assert [label for _value, label in choices(form, "property")][1:] == ["Renewal date (Date)", "Seats (Number)"]


def test_a_webhook_is_signed_with_a_secret_chosen_by_name(settings):
    settings.WAGTAIL_SEGMENTS = {**settings.WAGTAIL_SEGMENTS, "WEBHOOK_SECRET": "",
                                 "WEBHOOK_SECRETS": {"crm": "s3cret-value", "billing": "other-value"}}

    form = step_form("action", action="webhook")
    assert choices(form, "secret_name") == [("", "---------"), ("billing", "billing"), ("crm", "crm")]

    posted = step_form("action", {"name": "", "url": "https://crm.example.com/hook", "secret_name": "crm"},
                       action="webhook")
    assert posted.is_valid(), posted.errors
    assert posted.config() == {"action": "webhook", "url": "https://crm.example.com/hook", "secret_name": "crm"}
    typed = step_form("action", {"url": "https://crm.example.com/hook", "secret_name": "guessed"}, action="webhook")
    assert not typed.is_valid() and "secret_name" in typed.errors


def test_a_secret_name_no_longer_configured_stays_listed_and_is_refused(settings):
    settings.WAGTAIL_SEGMENTS = {**settings.WAGTAIL_SEGMENTS, "WEBHOOK_SECRET": "site-wide", "WEBHOOK_SECRETS": {}}
    stored = {"action": "webhook", "url": "https://crm.example.com/hook", "secret_name": "old"}

    form = step_form("action", action="webhook", config=stored)
    assert choices(form, "secret_name") == [("", "The site's secret (WEBHOOK_SECRET)"),
                                           ("old", "old (not in WEBHOOK_SECRETS)")]
    assert form["secret_name"].value() == "old"

    kept = step_form("action", {"url": stored["url"], "secret_name": "old"}, action="webhook", config=stored)
    assert not kept.is_valid()
    assert "The secret “old” is not in the WEBHOOK_SECRETS setting." in kept.non_field_errors()
