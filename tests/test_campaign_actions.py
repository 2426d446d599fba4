"""The actions a campaign step runs, and the registry a site extends by subclassing."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from tests import factories
from tests.segment_helpers import members, segment
from wagtail_segments.campaigns.actions import ACTIONS, Action, action_problems
from wagtail_segments.campaigns.executor import run_due_steps
from wagtail_segments.campaigns.models import Run
from wagtail_segments.campaigns.steps import validate_tree
from wagtail_segments.models import Membership, PropertyDefinition

pytestmark = pytest.mark.django_db


def run_one(action: str, contact=None, campaign=None, **config):
    """Run a one-step campaign doing ``action`` for a contact; returns the run."""
    campaign = campaign or factories.campaign()
    factories.chain(campaign, ("action", {"action": action, **config}))
    run = factories.run(campaign, contact or factories.contact())
    run_due_steps()
    run.refresh_from_db()
    return run


def test_tags_are_added_and_removed():
    contact = factories.contact()
    contact.tags.add("old")
    run_one("add_tags", contact, tags=["vip", "lead"])
    run_one("remove_tags", contact, tags=["old", "lead"])
    assert sorted(contact.tags.names()) == ["vip"]


def test_a_contact_is_added_to_and_removed_from_a_static_segment_as_a_campaign():
    newsletter = segment(kind="static", build=False)
    contact = factories.contact()
    run = run_one("add_to_segment", contact, segment=newsletter.pk)
    assert members(newsletter) == {contact.pk}
    assert Membership.objects.get(segment=newsletter).source == "campaign"
    assert run.logs.get().result == {"segment": newsletter.pk, "changed": 1}
    run_one("remove_from_segment", contact, segment=newsletter.pk)
    assert members(newsletter) == set()


def test_points_change_by_the_amount_given():
    contact = factories.contact(points=10)
    run = run_one("change_points", contact, points=-3)
    contact.refresh_from_db()
    assert contact.points == 7
    assert run.logs.get().result == {"points": -3, "total": 7}


def test_a_field_and_a_declared_property_are_set_typed():
    """Values stored as text (older steps, steps made in Python) are typed when the step acts."""
    PropertyDefinition.objects.create(key="renewal", label="Renewal", type="date")
    contact = factories.contact()
    run_one("set_field", contact, field="first_name", value="Ada")
    run_one("set_field", contact, property="renewal", value="31/12/2026")
    run_one("set_field", contact, field="do_not_email", value="yes")
    contact.refresh_from_db()
    assert contact.first_name == "Ada" and contact.do_not_email is True
    assert contact.properties == {"renewal": "2026-12-31"}


def test_set_field_refuses_identity_fields_and_bad_values():
    PropertyDefinition.objects.create(key="age", label="Age", type="number")
    assert action_problems({"action": "set_field", "field": "email", "value": "x@example.com"})
    assert action_problems({"action": "set_field", "property": "age", "value": "old"}) == [
        "The value for “Age” does not fit: “old” is not a number."]
    assert action_problems({"action": "set_field", "field": "do_not_email", "value": "perhaps"}) == [
        "The value for “Do not email” does not fit: “perhaps” is not yes or no."]
    assert action_problems({"action": "set_field", "field": "country", "value": "France"}) == [
        "The value for “Country” does not fit: Ensure this value has at most 2 characters (it has 6)."]
    assert action_problems({"action": "set_field"})


def test_a_step_that_sets_a_property_deleted_since_is_refused_naming_the_step():
    plan = PropertyDefinition.objects.create(key="plan", label="Plan", type="text")
    campaign = factories.campaign(status="draft")
    factories.step(campaign, "action", name="Upgrade", action="set_field", property="plan", value="gold")
    assert validate_tree(campaign) == []

    plan.delete()

    assert validate_tree(campaign) == ["Step “Upgrade”: The property “plan” it sets is no longer declared."]


def test_another_campaign_is_started_and_this_one_left():
    follow_up = factories.campaign()
    factories.chain(follow_up, ("wait", {"days": 1}))
    contact = factories.contact()
    campaign = factories.campaign()
    factories.chain(campaign, ("action", {"action": "start_campaign", "campaign": follow_up.pk}),
                    ("action", {"action": "leave"}), ("action", {"action": "add_tags", "tags": ["never"]}))
    run = factories.run(campaign, contact)
    run_due_steps()
    run.refresh_from_db()
    assert run.state == "left"
    assert Run.objects.get(campaign=follow_up).contact_id == contact.pk
    assert not contact.tags.exists()


def test_a_site_adds_an_action_by_subclassing_and_grandchildren_register_too():
    class Webhookish(Action):
        label = "A base without a name is not registered"

    class Ping(Webhookish):
        name = "test_ping"
        label = "Ping"

        def problems(self, config):
            return [] if config.get("url") else ["Give a URL."]

        def execute(self, run, config):
            return {"pinged": config["url"], "contact": run.contact_id}

    try:
        assert ACTIONS["test_ping"] is Ping and Webhookish not in ACTIONS.values()
        assert action_problems({"action": "test_ping"}) == ["Give a URL."]
        contact = factories.contact()
        run = run_one("test_ping", contact, url="https://example.com/hook")
        assert run.state == "completed"
        assert run.logs.get().result == {"pinged": "https://example.com/hook", "contact": contact.pk}
    finally:
        ACTIONS.pop("test_ping")


def test_two_actions_with_one_name_are_refused():
    with pytest.raises(ImproperlyConfigured):
        class Impostor(Action):
            name = "add_tags"
