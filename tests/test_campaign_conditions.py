"""Conditions: the segments' own rule types, evaluated once for the one contact a run reaches them with."""

import pytest
from django.utils import timezone

from tests import factories
from tests.segment_helpers import group, rule, segment
from wagtail_segments.campaigns.conditions import condition_problems, contact_matches
from wagtail_segments.campaigns.entry import enrol
from wagtail_segments.campaigns.executor import run_due_steps
from wagtail_segments.campaigns.models import Run, StepLog
from wagtail_segments.segments.manual import add_contacts

pytestmark = pytest.mark.django_db


def condition_campaign(rules, match="all"):
    campaign = factories.campaign()
    check = factories.step(campaign, "condition", name="Customer?", rules=rules, match=match)
    factories.step(campaign, "action", parent=check, branch="yes", action="add_tags", tags=["yes"])
    factories.step(campaign, "action", parent=check, branch="no", action="add_tags", tags=["no"])
    return campaign, check


def test_a_run_goes_down_yes_or_no_by_the_contacts_tags_when_it_reaches_the_condition():
    campaign, check = condition_campaign([rule("tags", operator="any", tags="customer")])
    customer, prospect = factories.contact(), factories.contact()
    customer.tags.add("customer")
    enrol(campaign, [customer, prospect])
    run_due_steps()
    assert sorted(customer.tags.names()) == ["customer", "yes"]
    assert list(prospect.tags.names()) == ["no"]
    assert Run.objects.get(contact=customer).branches == {str(check.key): "yes"}
    assert StepLog.objects.get(run__contact=prospect, step=check).result == {"branch": "no"}


def test_behaviour_fields_membership_and_groups_are_the_segments_rules():
    page = factories.content_page()
    vips = segment(kind="static", build=False)
    rules = [
        rule("page_views", page=page.pk),
        group("any", rule("contact_field", field="country", operator="eq", value="FR"), rule("segment", segment=vips.pk)),
    ]
    visitor_fr, visitor_vip, visitor_us, stranger = (factories.contact(country=c) for c in ("FR", "US", "US", "FR"))
    for contact in (visitor_fr, visitor_vip, visitor_us):
        factories.event(contact, "page_view", page=page)
    add_contacts(vips, [visitor_vip])
    config = {"rules": rules, "match": "all"}
    assert condition_problems(config) == []
    assert [contact_matches(config, c.pk, timezone.now())
            for c in (visitor_fr, visitor_vip, visitor_us, stranger)] == [True, True, False, False]


def test_any_of_the_rules_is_enough_when_the_condition_says_any():
    campaign, _check = condition_campaign(
        [rule("tags", operator="any", tags="a"), rule("points", operator="gte", points=10)], match="any")
    tagged, rich, neither = factories.contact(), factories.contact(points=12), factories.contact()
    tagged.tags.add("a")
    enrol(campaign, [tagged, rich, neither])
    run_due_steps()
    assert [sorted(set(c.tags.names()) - {"a"}) for c in (tagged, rich, neither)] == [["yes"], ["yes"], ["no"]]


def test_a_condition_needs_rules_and_installed_rule_types():
    assert condition_problems({"rules": []}) == ["Give the condition at least one rule."]
    assert condition_problems({"rules": [{"type": "astrology", "value": {}}]}) == [
        "Rule 1: the rule type “astrology” is not installed."]


def test_a_rule_naming_a_deleted_page_takes_the_no_branch_and_is_shown():
    page = factories.content_page()
    campaign, check = condition_campaign([rule("page_views", page=page.pk)])
    contact = factories.contact()
    factories.event(contact, "page_view", page=page)
    page.delete()
    assert any("no longer exists" in p for p in condition_problems(check.config))
    enrol(campaign, [contact])
    run_due_steps()
    assert list(contact.tags.names()) == ["no"]
