"""What is measured: the five-rule segment, the 49 other dynamic segments a site might have
beside it, and the hand-written SQL that computes the five-rule segment's members.

The five-rule segment ("engaged product leads"), all of:

1. a field: country is one of GB, US, IE, CA, AU, DE, NL, FR;
2. a tag: tagged lead or trial;
3. page views: at least 3 views of pages in the Products section in the last 30 days;
4. a form answer: has not answered "student" to "role" on the contact form (negated);
5. a nested any-group: came from the newsletter in the last 90 days, or has 50+ points.
"""

from __future__ import annotations

from tests.segment_helpers import group, rule

FIVE_SLUG = "bench-five"
COUNTRIES = ["GB", "US", "IE", "CA", "AU", "DE", "NL", "FR"]
TAG_NAMES = ["lead", "trial"]
VIEW_COUNT, VIEW_DAYS = 3, 30
NEWSLETTER_DAYS, POINTS = 90, 50


def five_rules(meta: dict, section: str = "products", countries=COUNTRIES, tags=TAG_NAMES,
               count: int = VIEW_COUNT, days: int = VIEW_DAYS, points: int = POINTS) -> list[dict]:
    return [
        rule("contact_field", field="country", operator="in", value=", ".join(countries)),
        rule("tags", operator="any", tags=", ".join(tags)),
        rule("page_views", target="section", page=meta["section_ids"][section],
             count_operator="at_least", count=count, window="last_days", days=days),
        rule("form_submitted", negate=True, page=meta["contact_form_id"], answer_field="role",
             answer_operator="eq", answer_value="student"),
        group("any",
              rule("traffic", field="utm_source", operator="eq", value="newsletter",
                   window="last_days", days=NEWSLETTER_DAYS),
              rule("points", operator="gte", points=points)),
    ]


def other_segments(meta: dict) -> list[tuple[str, str, list[dict]]]:
    """(slug, match, rules) of 49 more dynamic segments, of every rule type."""
    sections = meta["section_ids"]
    pages = [pk for pk, _ in meta["ranked_pages"]]
    contact_form, newsletter = meta["contact_form_id"], meta["newsletter_form_id"]
    found: list[tuple[str, str, list[dict]]] = []
    # Nine variants of the five-rule segment.
    for n, (section, days, count, countries) in enumerate([
        ("blog", 30, 3, COUNTRIES), ("docs", 30, 3, COUNTRIES), ("solutions", 60, 3, COUNTRIES),
        ("products", 14, 2, ["GB", "IE"]), ("products", 60, 5, ["US", "CA"]),
        ("resources", 30, 2, COUNTRIES), ("events", 90, 2, ["DE", "FR", "NL"]),
        ("products", 7, 2, COUNTRIES), ("blog", 90, 6, ["GB", "US"]),
    ]):
        found.append((f"five-{n}", "all", five_rules(meta, section, countries, TAG_NAMES, count, days)))
    # Page views.
    for n, page in enumerate(pages[:4]):
        found.append((f"viewed-page-{n}", "all", [
            rule("page_views", target="page", page=page, count=5, window="last_days", days=30)]))
    for n, (section, count, days) in enumerate([("blog", 2, 7), ("docs", 4, 30), ("careers", 1, 90)]):
        found.append((f"section-{n}", "all", [
            rule("page_views", target="section", page=sections[section], count=count,
                 window="last_days", days=days)]))
    found.append(("path-pricing", "all", [
        rule("page_views", target="path", path="/products/*", count=8, window="last_days", days=30)]))
    found.append(("very-active", "all", [
        rule("page_views", target="any", count=40, window="last_days", days=90)]))
    found.append(("regulars", "all", [
        rule("page_views", target="any", count=10, window="last_days", days=30),
        rule("status", status="identified")]))
    # Contact fields, properties, company, status, points, country, dates.
    found += [
        ("example7", "all", [rule("contact_field", field="email", operator="endswith", value="@example7.com")]),
        ("enterprise-plan", "all", [rule("contact_field", field="properties.plan", operator="eq", value="enterprise")]),
        ("big-companies", "all", [rule("contact_field", field="properties.employees", operator="gte", value="2000")]),
        ("finance-companies", "all", [rule("company_field", field="industry", operator="eq", value="finance"),
                                      rule("points", operator="gte", points=20)]),
        ("company-17", "all", [rule("company_field", field="domain", operator="eq", value="company17.example")]),
        ("high-points", "all", [rule("points", operator="gte", points=150)]),
        ("no-email-wanted", "all", [rule("status", status="do_not_email"), rule("status", status="identified")]),
        ("brazil-india", "all", [rule("country", countries="BR, IN"), rule("points", operator="gte", points=40)]),
        ("seen-this-week", "all", [rule("date", field="last_seen", operator="within_last_days", number=7),
                                   rule("status", status="identified")]),
        ("old-timers", "all", [rule("date", field="first_seen", operator="more_than_days_ago", number=330),
                               rule("points", operator="gte", points=30)]),
        ("lapsed-identified", "all", [rule("status", status="identified"),
                                      rule("date", field="last_seen", operator="more_than_days_ago", number=180)]),
        ("dach", "any", [rule("country", countries="DE"), rule("contact_field", field="country", operator="eq", value="AT")]),
        ("named-ada", "all", [rule("contact_field", field="first_name", operator="eq", value="Ada"),
                              rule("points", operator="gte", points=25)]),
    ]
    # Tags.
    found += [
        ("lead-and-webinar", "all", [rule("tags", operator="all", tags="lead, webinar")]),
        ("vip", "all", [rule("tags", operator="any", tags="vip")]),
        ("trial-not-customer", "all", [rule("tags", operator="any", tags="trial"),
                                       rule("tags", operator="none", tags="customer")]),
        ("churn-risk-customers", "all", [rule("tags", operator="all", tags="customer, churn-risk")]),
        ("industries", "all", [rule("tags", operator="any", tags="healthcare, retail, finance"),
                               rule("status", status="identified")]),
        ("developers", "all", [rule("tags", operator="any", tags="developer, it"),
                               rule("points", operator="gte", points=30)]),
    ]
    # Forms.
    found += [
        ("newsletter-90d", "all", [rule("form_submitted", page=newsletter, window="last_days", days=90)]),
        ("big-teams", "all", [rule("form_submitted", page=contact_form, answer_field="team_size",
                                   answer_operator="in", answer_value="51-200, 200+")]),
        ("founders", "all", [rule("form_submitted", page=contact_form, answer_field="role",
                                  answer_operator="eq", answer_value="founder")]),
        ("weekly-readers", "all", [rule("form_submitted", page=newsletter, answer_field="frequency",
                                        answer_operator="eq", answer_value="weekly", count=2)]),
        ("repeat-contact", "all", [rule("form_submitted", page=contact_form, count=3)]),
    ]
    # Visit sources.
    found += [
        ("spring-sale", "all", [rule("traffic", field="utm_campaign", operator="eq", value="spring-sale",
                                     window="last_days", days=30)]),
        ("tablet-7d", "all", [rule("traffic", field="device", operator="eq", value="tablet",
                                   window="last_days", days=7)]),
        ("from-linkedin", "all", [rule("traffic", field="referrer", operator="contains", value="linkedin",
                                       window="last_days", days=14)]),
        ("newsletter-visitors", "all", [rule("traffic", field="utm_source", operator="eq", value="newsletter",
                                             window="last_days", days=30)]),
        ("hn-or-twitter", "any", [
            rule("traffic", field="referrer", operator="contains", value="ycombinator", window="last_days", days=30),
            rule("traffic", field="utm_source", operator="eq", value="twitter", window="last_days", days=30)]),
    ]
    # Membership of another segment (read from stored memberships).
    found.append(("five-and-vip", "all", [rule("segment", segment="{five}"), rule("tags", operator="any", tags="vip")]))
    return found


def create_segments(meta: dict):
    """The five-rule segment and 49 others, with the property definitions they name."""
    from wagtail_segments.contacts.models import PropertyDefinition
    from wagtail_segments.segments.models import Segment

    PropertyDefinition.objects.get_or_create(key="plan", defaults={"label": "Plan", "type": "text"})
    PropertyDefinition.objects.get_or_create(key="employees", defaults={"label": "Employees", "type": "number"})
    five = Segment.objects.create(name="Engaged product leads", slug=FIVE_SLUG, rules=five_rules(meta))
    others = other_segments(meta)
    for slug, match, rules in others:
        for item in rules:
            if item["type"] == "segment":
                item["value"]["segment"] = str(five.pk)
        Segment.objects.create(name=slug.replace("-", " ").capitalize(), slug=slug, match=match, rules=rules)
    assert Segment.objects.dynamic().count() == 50, Segment.objects.dynamic().count()
    return five


# --------------------------------------------------------------------------- hand-written SQL


def hand_sql(vendor: str, *, count: bool = False) -> str:
    """The five-rule segment as one SQL statement. Parameters, in order: the country list is
    inlined; since_30 days, section path prefix (LIKE), contact form page id, since_90 days."""
    from wagtail.models import Page

    page_table = Page._meta.db_table
    countries = ", ".join(f"'{c}'" for c in COUNTRIES)
    tags = ", ".join(f"'{t}'" for t in TAG_NAMES)
    if vendor == "postgresql":
        role = "lower(f.data -> 'answers' ->> 'role')"
    else:
        role = "lower(json_extract(f.data, '$.answers.role'))"
    select = "count(*)" if count else "c.id"
    return f"""
SELECT {select} FROM wagtail_segments_contact c
WHERE c.merged_into_id IS NULL
  AND c.country IN ({countries})
  AND EXISTS (
    SELECT 1 FROM wagtail_segments_taggedcontact tc
    JOIN wagtail_segments_contacttag t ON t.id = tc.tag_id
    WHERE tc.content_object_id = c.id AND lower(t.name) IN ({tags}))
  AND c.id IN (
    SELECT e.contact_id FROM wagtail_segments_event e
    WHERE e.kind = 'page_view' AND e.time >= %s
      AND e.page_id IN (SELECT p.id FROM {page_table} p WHERE p.path LIKE %s)
    GROUP BY e.contact_id HAVING count(*) >= {VIEW_COUNT})
  AND NOT EXISTS (
    SELECT 1 FROM wagtail_segments_event f
    WHERE f.contact_id = c.id AND f.kind = 'form_submission' AND f.page_id = %s
      AND {role} = 'student')
  AND (c.points >= {POINTS} OR EXISTS (
    SELECT 1 FROM wagtail_segments_event v
    WHERE v.contact_id = c.id AND v.kind = 'page_view' AND v.utm_source = 'newsletter'
      AND v.time >= %s))
"""


def hand_params(meta: dict, now, connection) -> list:
    import datetime

    adapt = connection.ops.adapt_datetimefield_value
    return [
        adapt(now - datetime.timedelta(days=VIEW_DAYS)),
        meta["section_paths"]["products"] + "%",
        meta["contact_form_id"],
        adapt(now - datetime.timedelta(days=NEWSLETTER_DAYS)),
    ]


def build_by_sql(segment) -> int:
    """Write a segment's memberships with one INSERT … SELECT over its compiled query, and
    mark it built; returns its size."""
    from django.db import connection, transaction
    from django.utils import timezone

    from wagtail_segments.segments.compiler import matching_contacts
    from wagtail_segments.segments.models import Membership, Segment
    from wagtail_segments.segments.rules import RuleContext

    now = timezone.now()
    sql, params = matching_contacts(segment, RuleContext(now=now)).query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO wagtail_segments_membership (segment_id, contact_id, source, added_at, excluded) "
            f"SELECT %s, c.id, 'rule', %s, %s FROM wagtail_segments_contact c WHERE c.id IN ({sql})",
            [segment.pk, connection.ops.adapt_datetimefield_value(now), False, *params],
        )
        count = Membership.objects.filter(segment=segment, excluded=False).count()
        Segment.objects.filter(pk=segment.pk).update(member_count=count, last_rebuilt_at=now)
    return count
