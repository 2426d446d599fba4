"""Each rule type and operator, negation and nested groups, compiled to SQL."""

import datetime

import pytest
from django.utils import timezone

from tests import factories
from tests.segment_helpers import group, members, rule, segment
from wagtail_segments.models import Company, PropertyDefinition
from wagtail_segments.segments.compiler import matching_contacts
from wagtail_segments.segments.rules import RuleContext

pytestmark = pytest.mark.django_db


def matched(*rules, match="all", now=None):
    seg = segment(*rules, match=match, build=False)
    return set(matching_contacts(seg, RuleContext(now=now or timezone.now())))


@pytest.fixture
def people():
    acme = Company.objects.create(name="Acme Ltd", domain="acme.example", properties={"tier": "gold"})
    ann = factories.contact(email="ann@example.com", first_name="Ann", last_name="Lee", country="US",
                            points=50, company=acme, properties={"plan": "Pro", "size": 12, "renewal": "2026-12-10"})
    bob = factories.contact(email="bob@example.org", first_name="Bob", country="CA", points=5,
                            properties={"plan": "basic", "size": 3, "renewal": "2027-06-01"})
    cat = factories.contact(first_name="", country="GB", points=0, properties={})
    return ann, bob, cat


@pytest.mark.parametrize(
    "field,operator,value,expected",
    [
        ("email", "eq", "ANN@example.com", {"ann"}),
        ("email", "neq", "ann@example.com", {"bob", "cat"}),
        ("email", "contains", "EXAMPLE", {"ann", "bob"}),
        ("email", "startswith", "bo", {"bob"}),
        ("email", "endswith", ".org", {"bob"}),
        ("country", "in", "us, ca", {"ann", "bob"}),
        ("first_name", "empty", "", {"cat"}),
        ("first_name", "not_empty", "", {"ann", "bob"}),
        ("properties.plan", "eq", "pro", {"ann"}),
        ("properties.plan", "neq", "pro", {"bob", "cat"}),
        ("properties.plan", "contains", "as", {"bob"}),
        ("properties.plan", "in", "Pro,enterprise", {"ann"}),
        ("properties.plan", "empty", "", {"cat"}),
        ("properties.plan", "not_empty", "", {"ann", "bob"}),
        ("properties.size", "gt", "5", {"ann"}),
        ("properties.size", "lte", "12", {"ann", "bob"}),
        ("properties.size", "lt", "3", set()),
        ("properties.size", "eq", "3", {"bob"}),
        ("properties.renewal", "lt", "2027-01-01", {"ann"}),
        ("properties.renewal", "gte", "2027-01-01", {"bob"}),
    ],
)
def test_contact_field_operators(people, field, operator, value, expected):
    PropertyDefinition.objects.create(key="plan", label="Plan", type="text")
    PropertyDefinition.objects.create(key="size", label="Size", type="number")
    PropertyDefinition.objects.create(key="renewal", label="Renewal", type="date")
    names = {c.pk: n for c, n in zip(people, ("ann", "bob", "cat"))}
    result = matched(rule("contact_field", field=field, operator=operator, value=value))
    assert {names[pk] for pk in result} == expected


def test_numbers_compare_as_numbers_not_text(people):
    PropertyDefinition.objects.create(key="size", label="Size", type="number")
    ann, bob, cat = people
    # As text "12" < "3"; as numbers 12 > 3.
    assert matched(rule("contact_field", field="properties.size", operator="gt", value="4")) == {ann.pk}


def test_a_deleted_property_matches_no_one_and_is_flagged(people):
    seg = segment(rule("contact_field", field="properties.gone", operator="not_empty"))
    assert members(seg) == set()
    assert "gone" in seg.rule_problems[0]
    negated = segment(rule("contact_field", negate=True, field="properties.gone", operator="not_empty"))
    assert members(negated) == set()


def test_company_fields(people):
    ann, bob, cat = people
    assert matched(rule("company_field", field="domain", operator="endswith", value="acme.example")) == {ann.pk}
    assert matched(rule("company_field", field="tier", operator="eq", value="GOLD")) == {ann.pk}
    assert matched(rule("company_field", field="name", operator="empty", value="")) == {bob.pk, cat.pk}


def test_tags_any_all_none(people):
    ann, bob, cat = people
    ann.tags.add("vip", "partner")
    bob.tags.add("VIP")
    assert matched(rule("tags", operator="any", tags="vip, donor")) == {ann.pk, bob.pk}
    assert matched(rule("tags", operator="all", tags="vip,partner")) == {ann.pk}
    assert matched(rule("tags", operator="none", tags="vip")) == {cat.pk}


def test_tags_that_no_contact_has(people):
    ann, bob, cat = people
    ann.tags.add("vip")
    assert matched(rule("tags", operator="any", tags="donor")) == set()
    assert matched(rule("tags", operator="all", tags="vip, donor")) == set()
    assert matched(rule("tags", operator="none", tags="donor")) == {ann.pk, bob.pk, cat.pk}
    # Narrowed to some contacts, as the pass over new events evaluates them.
    seg = segment(rule("tags", operator="none", tags="vip, donor"), build=False)
    assert set(matching_contacts(seg, RuleContext(ids=[ann.pk, bob.pk]))) == {bob.pk}


@pytest.mark.parametrize("operator,points,expected", [
    ("gte", 5, {"ann", "bob"}), ("gt", 5, {"ann"}), ("lt", 5, {"cat"}), ("lte", 0, {"cat"}),
    ("eq", 50, {"ann"}), ("neq", 50, {"bob", "cat"}),
])
def test_points(people, operator, points, expected):
    names = {c.pk: n for c, n in zip(people, ("ann", "bob", "cat"))}
    assert {names[pk] for pk in matched(rule("points", operator=operator, points=points))} == expected


def test_status_and_country(people, django_user_model):
    ann, bob, cat = people
    bob.user = django_user_model.objects.create_user("bob")
    bob.do_not_email = True
    bob.save()
    assert matched(rule("status", status="identified")) == {ann.pk, bob.pk}
    assert matched(rule("status", negate=True, status="identified")) == {cat.pk}
    assert matched(rule("status", status="user")) == {bob.pk}
    assert matched(rule("status", status="do_not_email")) == {bob.pk}
    assert matched(rule("country", countries="us, CA")) == {ann.pk, bob.pk}


def test_negation_and_nested_groups(people):
    ann, bob, cat = people
    ann.tags.add("vip")
    tree = group(
        "any",
        rule("country", countries="GB"),
        group("all", rule("tags", operator="any", tags="vip"), rule("points", operator="gte", points=10)),
    )
    assert matched(tree) == {ann.pk, cat.pk}
    assert matched(group("any", tree["value"]["rules"][0], tree["value"]["rules"][1], negate=True)) == {bob.pk}
    deep = group("all", group("all", group("all", group("all", rule("country", countries="CA")))))
    assert matched(deep) == {bob.pk}
    assert matched(rule("country", countries="CA"), rule("country", countries="US"), match="any") == {ann.pk, bob.pk}
    assert matched(rule("country", countries="CA"), rule("country", countries="US"), match="all") == set()


def test_an_empty_dynamic_segment_matches_no_one(people):
    assert matched() == set()
    assert matched(group("any")) == set()
