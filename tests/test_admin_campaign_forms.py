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

    [_empty, (_fields, fields), (_properties, properties)] = form.fields["target"].choices
    assert ("first_name", "First name") in fields and ("do_not_email", "Do not email") in fields
    assert [str(label) for _value, label in properties] == ["Renewal date (Date)", "Seats (Number)"]


def shown_for(form, name: str) -> list[str]:
    """The targets for which shown_when.js shows the value input ``name``."""
    return form.fields[name].widget.attrs["data-wsg-shown-when"].removeprefix("target:").split(" ")


def test_the_value_input_is_the_one_of_the_chosen_fields_or_propertys_type():
    PropertyDefinition.objects.create(key="seats", label="Seats", type="number")
    PropertyDefinition.objects.create(key="renewal", label="Renewal date", type="date")
    PropertyDefinition.objects.create(key="vip", label="VIP", type="boolean")
    PropertyDefinition.objects.create(key="plan", label="Plan", type="text")

    form = step_form("action", action="set_field")

    assert shown_for(form, "value_text") == ["", "first_name", "last_name", "phone", "properties.plan"]
    assert shown_for(form, "value_country") == ["country"]
    assert shown_for(form, "value_number") == ["properties.seats"]
    assert shown_for(form, "value_date") == ["properties.renewal"]
    assert shown_for(form, "value_boolean") == ["do_not_email", "do_not_sms", "properties.vip"]
    html = form.as_div()
    assert 'type="number" name="value_number"' in html
    assert 'initDateChooser("id_value_date"' in html  # Wagtail's date picker


def set_field(data: dict, config: dict | None = None):
    return step_form("action", {"name": "", **data}, action="set_field", config=config)


def test_a_value_is_stored_typed_and_one_that_does_not_fit_is_refused_on_its_input():
    PropertyDefinition.objects.create(key="seats", label="Seats", type="number")
    PropertyDefinition.objects.create(key="renewal", label="Renewal date", type="date")

    seats = set_field({"target": "properties.seats", "value_number": "12", "value_text": "ignored"})
    assert seats.is_valid(), seats.errors
    assert seats.config() == {"action": "set_field", "property": "seats", "value": 12}
    renewal = set_field({"target": "properties.renewal", "value_date": "31/12/2026"})
    assert renewal.is_valid() and renewal.config()["value"] == "2026-12-31"
    opt_out = set_field({"target": "do_not_email", "value_boolean": "true", "value_text": "no"})
    assert opt_out.is_valid() and opt_out.config() == {"action": "set_field", "field": "do_not_email", "value": True}

    bad_number = set_field({"target": "properties.seats", "value_number": "many"})
    assert not bad_number.is_valid()
    assert bad_number.errors == {"value_number": ["“many” is not a number."]}
    bad_date = set_field({"target": "properties.renewal", "value_date": "soon"})
    assert bad_date.errors == {"value_date": ["“soon” is not a date."]}
    # the country: one of the countries, by its code
    country = set_field({"target": "country", "value_country": "France"})
    assert list(country.errors) == ["value_country"]


def test_a_stored_step_opens_with_its_value_in_its_types_input_and_saves_unchanged():
    PropertyDefinition.objects.create(key="seats", label="Seats", type="number")
    # as steps were stored before the inputs were typed: text, or a boolean for the opt-outs
    stored = {"action": "set_field", "property": "seats", "value": "5"}
    form = step_form("action", action="set_field", config=stored)
    assert (form["target"].value(), form["value_number"].value(), form["value_text"].value()) == (
        "properties.seats", "5", None)
    resaved = set_field({"target": "properties.seats", "value_number": "5"}, config=stored)
    assert resaved.is_valid() and resaved.config()["value"] == 5

    opted_out = step_form("action", action="set_field",
                          config={"action": "set_field", "field": "do_not_sms", "value": True})
    assert (opted_out["target"].value(), opted_out["value_boolean"].value()) == ("do_not_sms", "true")


def test_a_property_deleted_since_stays_shown_and_is_refused():
    stored = {"action": "set_field", "property": "plan", "value": "gold"}

    form = step_form("action", action="set_field", config=stored)
    assert form["target"].value() == "properties.plan" and form["value_text"].value() == "gold"
    assert ("properties.plan", "“plan” (no longer declared)") in form.fields["target"].choices[-1][1]

    resaved = set_field({"target": "properties.plan", "value_text": "gold"}, config=stored)
    assert not resaved.is_valid()
    assert resaved.non_field_errors() == ["The property “plan” it sets is no longer declared."]


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


def test_the_edit_screen_refuses_a_value_that_does_not_fit_and_saves_one_that_does(client):
    from django.urls import reverse

    from tests import factories
    from tests.admin_helpers import editor

    client.force_login(editor("marketer", "view_campaign", "change_campaign"))
    PropertyDefinition.objects.create(key="seats", label="Seats", type="number")
    campaign = factories.campaign(status="draft")
    step = factories.step(campaign, "action", name="Size the team", action="set_field", property="seats", value="5")
    edit = reverse("wagtail_segments_campaign_edit_step", args=[step.pk])

    page = client.get(edit).content.decode()
    assert 'type="number" name="value_number" value="5"' in page
    assert 'data-wsg-shown-when="target:properties.seats"' in page

    refused = client.post(edit, {"name": "Size the team", "target": "properties.seats", "value_number": "a dozen"})
    assert refused.status_code == 200 and "“a dozen” is not a number." in refused.content.decode()
    step.refresh_from_db()
    assert step.config["value"] == "5"

    saved = client.post(edit, {"name": "Size the team", "target": "properties.seats", "value_number": "12"})
    assert saved.status_code == 302
    step.refresh_from_db()
    assert step.config == {"action": "set_field", "property": "seats", "value": 12}


def test_the_country_is_set_by_choosing_a_country_by_name():
    form = set_field({"target": "country", "value_country": "DE", "value_text": "ignored"})

    assert ("DE", "Germany") in choices(form, "value_country") and choices(form, "value_country")[0] == ("", "No country")
    assert form.is_valid(), form.errors
    assert form.config() == {"action": "set_field", "field": "country", "value": "DE"}
    assert 'data-wsg-shown-when="target:country"' in form.as_div()


def test_a_stored_country_opens_chosen_and_a_code_that_is_no_country_is_kept():
    lowercase = step_form("action", action="set_field", config={"action": "set_field", "field": "country", "value": "fr"})
    assert lowercase.initial["value_country"] == "FR"

    stored = {"action": "set_field", "field": "country", "value": "UK"}
    form = step_form("action", action="set_field", config=stored)
    assert form.initial["value_country"] == "UK"
    assert ("UK", "UK (not a known country code)") in choices(form, "value_country")
    resaved = set_field({"target": "country", "value_country": "UK"}, config=stored)
    assert resaved.is_valid(), resaved.errors
    assert resaved.config() == stored


def test_the_add_step_screen_sets_the_country_chosen_by_name(admin_client):
    from bs4 import BeautifulSoup

    from tests import factories

    campaign = factories.campaign(status="draft", name="Move")
    add_step = f"/admin/marketing/campaigns/{campaign.pk}/steps/add/"
    form = {"kind": "action", "action": "set_field", "parent": "", "branch": "next"}

    html = admin_client.get(add_step, form).content.decode()
    select = BeautifulSoup(html, "html.parser").find("select", attrs={"name": "value_country"})
    assert select["data-wsg-shown-when"] == "target:country"
    assert select.find("option", value="DE").get_text(strip=True) == "Germany"

    admin_client.post(add_step, {**form, "save": "1", "target": "country", "value_country": "DE"})
    assert campaign.steps.get().config == {"action": "set_field", "field": "country", "value": "DE"}
