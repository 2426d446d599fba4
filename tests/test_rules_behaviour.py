"""Date rules in the site's time zone, behaviour rules over events, and segment membership."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from tests import factories
from tests.segment_helpers import group, members, rule, segment
from wagtail_segments.models import Event, PropertyDefinition, Segment
from wagtail_segments.segments.compiler import matching_contacts
from wagtail_segments.segments.rules import RuleContext

pytestmark = pytest.mark.django_db

# A fixed "now": 2026-03-01 10:00 in the site's zone (Europe/London), a common year.
NOW = timezone.make_aware(datetime.datetime(2026, 3, 1, 10, 0))


def matched(*rules, match="all", now=NOW):
    seg = segment(*rules, match=match, build=False)
    return set(matching_contacts(seg, RuleContext(now=now)))


def local(y, m, d, h=12):
    return timezone.make_aware(datetime.datetime(y, m, d, h))


@pytest.fixture
def dated():
    PropertyDefinition.objects.create(key="birthday", label="Birthday", type="date")
    PropertyDefinition.objects.create(key="renewal", label="Renewal", type="date")
    people = {
        "teen": factories.contact(properties={"birthday": "2008-03-01", "renewal": "2026-03-20"},
                                  first_seen=local(2026, 2, 28, 23), last_seen=local(2026, 3, 1, 0)),
        "adult": factories.contact(properties={"birthday": "1990-07-15", "renewal": "2026-05-01"},
                                   first_seen=local(2025, 1, 1), last_seen=local(2026, 1, 1)),
        "none": factories.contact(properties={}, first_seen=local(2020, 1, 1), last_seen=local(2020, 1, 1)),
    }
    return people


def names(people, ids):
    return {name for name, c in people.items() if c.pk in ids}


@pytest.mark.parametrize(
    "field,operator,extra,expected",
    [
        ("properties.birthday", "anniversary", {}, {"teen"}),
        ("properties.birthday", "age_is", {"number": 18}, {"teen"}),
        ("properties.birthday", "age_is", {"number": 17}, set()),
        ("properties.birthday", "age_at_least", {"number": 18}, {"teen", "adult"}),
        ("properties.birthday", "age_below", {"number": 30}, {"teen"}),
        ("properties.renewal", "within_next_days", {"number": 30}, {"teen"}),
        ("properties.renewal", "within_next_days", {"number": 90}, {"teen", "adult"}),
        ("properties.renewal", "in_days", {"number": 19}, {"teen"}),
        ("properties.renewal", "before", {"date": "2026-04-01"}, {"teen"}),
        ("properties.renewal", "after", {"date": "2026-03-20"}, {"adult"}),
        ("properties.renewal", "between", {"date": "2026-03-20", "end_date": "2026-05-01"}, {"teen", "adult"}),
        ("properties.renewal", "empty", {}, {"none"}),
        ("properties.renewal", "not_empty", {}, {"teen", "adult"}),
        ("last_seen", "today", {}, {"teen"}),
        ("first_seen", "days_ago", {"number": 1}, {"teen"}),
        ("last_seen", "within_last_days", {"number": 90}, {"teen", "adult"}),
        ("last_seen", "more_than_days_ago", {"number": 365}, {"none"}),
        ("first_seen", "on", {"date": "2025-01-01"}, {"adult"}),
        ("first_seen", "anniversary", {}, set()),
    ],
)
def test_date_operators_in_the_site_time_zone(dated, field, operator, extra, expected):
    result = matched(rule("date", field=field, operator=operator, **extra))
    assert names(dated, result) == expected


def test_negated_date_rule_includes_contacts_without_the_date(dated):
    result = matched(rule("date", negate=True, field="properties.renewal", operator="within_next_days", number=30))
    assert names(dated, result) == {"adult", "none"}


def test_leap_day_birthdays_are_celebrated_on_28_february():
    PropertyDefinition.objects.create(key="birthday", label="Birthday", type="date")
    leapling = factories.contact(properties={"birthday": "2008-02-29"})
    feb28 = timezone.make_aware(datetime.datetime(2026, 2, 28, 9))
    assert matched(rule("date", field="properties.birthday", operator="anniversary"), now=feb28) == {leapling.pk}
    assert matched(rule("date", field="properties.birthday", operator="age_is", number=18), now=feb28) == {leapling.pk}


@pytest.fixture
def site():
    products = factories.section_page("Products")
    pricing = factories.content_page("Pricing", parent=products)
    features = factories.content_page("Features", parent=products)
    blog = factories.content_page("Blog")
    demo_form = factories.form_page("Demo", fields=[("Email", "email"), ("Team size", "number")])
    return {"products": products, "pricing": pricing, "features": features, "blog": blog, "demo": demo_form}


def view(contact, page, days_ago=1, **fields):
    return factories.event(contact, "page_view", page=page, path=page.url, time=NOW - datetime.timedelta(days=days_ago), **fields)


def submit(contact, page, days_ago=1, **answers):
    return factories.event(contact, "form_submission", page=page, time=NOW - datetime.timedelta(days=days_ago),
                           data={"answers": answers})


def test_page_views_of_a_page_a_section_and_a_path_with_counts_and_windows(site):
    eager, casual, old = factories.contact(), factories.contact(), factories.contact()
    for days in (1, 3, 10):
        view(eager, site["pricing"], days)
    view(casual, site["features"], 2)
    view(old, site["pricing"], 60)
    pricing, products = site["pricing"].pk, site["products"].pk
    assert matched(rule("page_views", page=pricing)) == {eager.pk, old.pk}
    assert matched(rule("page_views", page=pricing, count=3, window="last_days", days=14)) == {eager.pk}
    assert matched(rule("page_views", page=pricing, count=3, window="last_days", days=5)) == set()
    assert matched(rule("page_views", page=pricing, count=2, window="last_days", days=5)) == {eager.pk}
    assert matched(rule("page_views", target="section", page=products, window="last_days", days=30)) == {eager.pk, casual.pk}
    assert matched(rule("page_views", target="path", path=site["pricing"].url + "*")) == {eager.pk, old.pk}
    assert matched(rule("page_views", target="path", path="*/features*")) == {casual.pk}
    assert matched(rule("page_views", page=pricing, count_operator="at_most", count=1)) == {casual.pk, old.pk}
    assert matched(rule("page_views", page=pricing, window="between", start="2025-12-31", end="2026-01-15")) == {old.pk}


def test_visited_pricing_three_times_in_14_days_but_never_submitted_the_demo_form(site):
    """The worked example of docs/segments.md."""
    keen, converted = factories.contact(), factories.contact()
    for c in (keen, converted):
        for days in (1, 2, 3):
            view(c, site["pricing"], days)
    submit(converted, site["demo"], team_size="12")
    result = matched(
        rule("page_views", page=site["pricing"].pk, count=3, window="last_days", days=14),
        rule("form_submitted", negate=True, page=site["demo"].pk),
    )
    assert result == {keen.pk}


def test_form_answers_are_compared_with_a_value(site):
    big, small = factories.contact(), factories.contact()
    submit(big, site["demo"], team_size="120", email="a@x.org")
    submit(small, site["demo"], team_size="8", email="b@x.org")
    demo = site["demo"].pk
    assert matched(rule("form_submitted", page=demo, answer_field="team_size", answer_operator="gt", answer_value="50")) == {big.pk}
    assert matched(rule("form_submitted", page=demo, answer_field="team_size", answer_operator="eq", answer_value="8")) == {small.pk}
    assert matched(rule("form_submitted", page=demo, window="last_days", days=30)) == {big.pk, small.pk}


def test_utm_referrer_and_device_of_page_views(site):
    ad, mobile = factories.contact(), factories.contact()
    view(ad, site["blog"], utm_source="newsletter", utm_campaign="spring", referrer="https://mail.example/")
    view(mobile, site["blog"], device="mobile")
    assert matched(rule("traffic", field="utm_source", value="Newsletter")) == {ad.pk}
    assert matched(rule("traffic", field="utm_campaign", operator="in", value="spring,summer")) == {ad.pk}
    assert matched(rule("traffic", field="referrer", operator="contains", value="mail.example")) == {ad.pk}
    assert matched(rule("traffic", field="device", value="mobile")) == {mobile.pk}


def test_visit_source_rules_over_tagged_untagged_and_no_views(site):
    """The rule states "not empty" for comparisons that need a value (so PostgreSQL may use
    the index of tagged views); results stay exact for every operator and for negation."""
    tagged, shouty, untagged, absent = (factories.contact() for _ in range(4))
    view(tagged, site["blog"], utm_source="newsletter")
    view(tagged, site["blog"])
    view(shouty, site["blog"], utm_source="NEWSLETTER", utm_medium="email")
    view(untagged, site["blog"])
    everyone = {tagged.pk, shouty.pk, untagged.pk, absent.pk}
    newsletter = {tagged.pk, shouty.pk}
    assert matched(rule("traffic", field="utm_source", value="newsletter")) == newsletter
    assert matched(rule("traffic", field="utm_source", value="newsletter", negate=True)) == everyone - newsletter
    assert matched(rule("traffic", field="utm_source", operator="startswith", value="news")) == newsletter
    assert matched(rule("traffic", field="utm_source", operator="in", value="newsletter, , google")) == newsletter
    # Comparisons an empty value can satisfy still see untagged views.
    assert matched(rule("traffic", field="utm_source", value="")) == {tagged.pk, untagged.pk}
    assert matched(rule("traffic", field="utm_source", operator="empty")) == {tagged.pk, untagged.pk}
    assert matched(rule("traffic", field="utm_source", operator="neq", value="newsletter")) == {tagged.pk, untagged.pk}
    assert matched(rule("traffic", field="utm_medium", operator="contains", value="")) == {tagged.pk, shouty.pk, untagged.pk}


def test_a_rule_naming_a_deleted_page_or_form_field_matches_no_one_and_is_flagged(site):
    visitor = factories.contact()
    view(visitor, site["blog"])
    submit(visitor, site["demo"], team_size="3")
    blog_id = site["blog"].pk
    site["blog"].delete()
    seg = segment(rule("page_views", negate=True, page=blog_id))
    assert members(seg) == set() and seg.rule_problems
    seg = segment(rule("form_submitted", page=site["demo"].pk, answer_field="gone", answer_value="x"))
    assert members(seg) == set() and "gone" in seg.rule_problems[0]
    # Events keep their history with the page link cleared.
    assert Event.objects.filter(kind="page_view", page__isnull=True).count() == 1


def test_membership_of_another_segment_reads_stored_memberships():
    vip = factories.contact()
    vip.tags.add("vip")
    factories.contact()
    vips = segment(rule("tags", tags="vip"), name="VIPs")
    inner = segment(rule("segment", segment=str(vips.pk)))
    assert members(inner) == {vip.pk}
    outer = segment(rule("segment", negate=True, segment=str(vips.pk)))
    assert vip.pk not in members(outer)


def test_a_segment_naming_a_deleted_segment_matches_no_one():
    gone = segment(rule("tags", tags="x"))
    gone_id = gone.pk
    gone.delete()
    seg = segment(rule("segment", negate=True, segment=str(gone_id)))
    factories.contact()
    assert members(seg) == set() and seg.rule_problems


def test_a_segment_referencing_itself_through_another_is_refused():
    a = segment(rule("tags", tags="x"), name="A")
    b = segment(rule("segment", segment=str(a.pk)), name="B")
    a.rules = [group("any", rule("segment", segment=str(b.pk)))]
    with pytest.raises(ValidationError) as error:
        a.full_clean()
    assert "A → B → A" in str(error.value)
    self_ref = segment(rule("tags", tags="y"), name="Self")
    self_ref.rules = [rule("segment", segment=str(self_ref.pk))]
    with pytest.raises(ValidationError):
        self_ref.full_clean()
    b.full_clean()  # B → A (without the cycle) is fine


def test_negated_at_least_zero_views_matches_no_one(site):
    """Found by the property test: "at least 0 views" is everyone, so its negation is no one."""
    factories.contact()
    assert matched(rule("page_views", page=site["blog"].pk, count=0)) != set()
    assert matched(rule("page_views", negate=True, page=site["blog"].pk, count=0)) == set()
