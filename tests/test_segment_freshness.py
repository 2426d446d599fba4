"""Which contacts the incremental path re-evaluates, how a rebuild walks a large segment, and
how a failing or locked segment leaves the others (and the pass) going."""

import time

import pytest
from django.db.models import Max, Q

from tests import factories
from tests.concurrency import in_open_transaction, postgresql_only
from tests.segment_helpers import members, rule, segment
from wagtail_segments.contacts.tasks import process_new_events
from wagtail_segments.models import Contact, Event, Membership, Segment
from wagtail_segments.segments import evaluation
from wagtail_segments.segments.evaluation import count_matches, rebuild_segment
from wagtail_segments.segments.rules import Rule, registry
from wagtail_segments.segments.rules.base import LAST_SEEN_CHANGED
from wagtail_segments.segments.tasks import rebuild_all_segments

pytestmark = pytest.mark.django_db


@pytest.fixture
def evaluated(monkeypatch):
    """Which segment re-evaluated which contacts in the pass over new events."""
    calls = {}
    original = evaluation._evaluate

    def record(seg, ids, context):
        calls.setdefault(seg.slug, set()).update(ids)
        return original(seg, ids, context)

    monkeypatch.setattr(evaluation, "_evaluate", record)
    return calls


def view(contact, page, **columns):
    return Event.objects.create(contact=contact, kind="page_view", page=page, path=page.url or "", **columns)


def start_pass_after_existing_events():
    from wagtail_segments.contacts.models import ProcessingPosition
    from wagtail_segments.contacts.tasks import POSITION_NAME

    newest = Event.objects.aggregate(m=Max("id"))["m"] or 0
    ProcessingPosition.objects.update_or_create(name=POSITION_NAME, defaults={"position": newest})


def test_a_page_rule_reevaluates_only_the_visitors_of_its_page(evaluated):
    pricing, blog = factories.content_page(title="Pricing"), factories.content_page(title="Blog")
    reader, buyer = factories.contact(), factories.contact()
    segment(rule("page_views", page=pricing.pk, count=2), slug="pricing-twice")
    segment(rule("tags", tags="vip"), slug="vips")
    view(buyer, pricing)
    start_pass_after_existing_events()
    view(reader, blog)
    view(buyer, pricing)
    process_new_events()
    # The blog reader's view cannot move "pricing twice"; tags do not move with visits at all.
    assert evaluated == {"pricing-twice": {buyer.pk}}
    assert Membership.objects.filter(segment__slug="pricing-twice").get().contact_id == buyer.pk


def test_rules_on_last_seen_or_country_reevaluate_every_visitor_of_the_pass(evaluated):
    page = factories.content_page()
    visitors = [factories.contact(), factories.contact(country="")]
    segment(rule("date", field="last_seen", operator="today"), slug="seen-today")
    segment(rule("country", countries="CA"), slug="canadians")
    start_pass_after_existing_events()
    view(visitors[0], page)
    view(visitors[1], page, country="CA")
    process_new_events()
    assert evaluated == {"seen-today": {c.pk for c in visitors}, "canadians": {c.pk for c in visitors}}
    assert members(Segment.objects.get(slug="canadians")) == {visitors[1].pk}


def test_a_form_answer_rule_reevaluates_only_submitters_of_that_form(evaluated):
    form = factories.form_page(fields=[("Role", "singleline")])
    other_form = factories.form_page(title="Other form")
    student, visitor = factories.contact(), factories.contact()
    segment(rule("form_submitted", page=form.pk, answer_field="role", answer_value="student"), slug="students")
    start_pass_after_existing_events()
    Event.objects.create(contact=student, kind="form_submission", page=form, data={"answers": {"role": "student"}})
    Event.objects.create(contact=visitor, kind="form_submission", page=other_form, data={"answers": {}})
    process_new_events()
    assert evaluated == {"students": {student.pk}}
    assert Membership.objects.get(segment__slug="students").contact_id == student.pk


def test_a_rebuild_in_small_chunks_and_pages_gives_the_same_members_and_events(monkeypatch):
    monkeypatch.setattr(evaluation, "MEMBERSHIP_PAGE", 3)
    contacts = [factories.contact(points=i) for i in range(25)]
    seg = segment(rule("points", operator="gte", points=0), build=False)
    rebuild_segment(seg, chunk_size=4)
    assert members(seg) == {c.pk for c in contacts}
    Contact.objects.filter(points__gte=3).update(points=-1)
    rebuild_segment(seg, chunk_size=4)
    assert members(seg) == {c.pk for c in contacts[:3]}
    seg.refresh_from_db()
    assert seg.member_count == 3
    left = Event.objects.filter(kind="segment_left", data__segment_id=seg.pk)
    assert sorted(left.values_list("contact_id", flat=True)) == sorted(c.pk for c in contacts[3:])
    entered = Event.objects.filter(kind="segment_entered", data__segment_id=seg.pk)
    assert entered.count() == 25
    assert entered.first().data == {"segment": seg.slug, "segment_id": seg.pk, "name": seg.name, "initial": True}


def test_the_live_preview_counts_unsaved_rules():
    factories.contact(points=10), factories.contact(points=60), factories.contact(points=70)
    unsaved = Segment(name="Preview", slug="preview", rules=[rule("points", operator="gte", points=50)])
    assert count_matches(unsaved) == 2
    assert not Segment.objects.filter(slug="preview").exists()


def test_an_any_group_tests_columns_before_it_reads_events():
    """Databases evaluate OR left to right: "came from the newsletter OR 50 points" must test
    the points column first, whatever order the editor put the rules in."""
    from tests.segment_helpers import group
    from wagtail_segments.segments.compiler import matching_contacts
    from wagtail_segments.segments.rules import RuleContext

    unsaved = Segment(name="Any", slug="any", rules=[group(
        "any", rule("traffic", field="utm_source", operator="eq", value="newsletter"),
        rule("points", operator="gte", points=50))])
    sql = str(matching_contacts(unsaved, RuleContext()).query)
    assert sql.index('"points"') < sql.index("EXISTS")


class FlakyRule(Rule):
    """A host's custom rule with a bug: it raises while ``FlakyRule.broken`` holds True."""

    name = "flaky"
    label = "Flaky"
    depends_on = frozenset({LAST_SEEN_CHANGED})
    broken = [False]

    def child_blocks(self):
        return []

    def compile(self, value, context):
        if self.broken[0]:
            raise RuntimeError("bug in a custom rule")
        return Q(last_seen__isnull=False)


@pytest.fixture
def flaky_rule():
    registry.register(FlakyRule)
    FlakyRule.broken[0] = False
    yield FlakyRule.broken
    registry.unregister("flaky")


def test_a_rule_that_raises_stalls_neither_the_pass_nor_other_segments(flaky_rule):
    page = factories.content_page()
    visitor = factories.contact()
    flaky = segment({"type": "flaky", "value": {"negate": False}}, slug="flaky")
    seen_today = segment(rule("date", field="last_seen", operator="today"), slug="seen-today")
    flaky_rule[0] = True
    view(visitor, page)
    process_new_events()
    visitor.refresh_from_db()
    assert visitor.last_seen is not None  # the pass moved on
    assert members(seen_today) == {visitor.pk}  # the other segment too
    flaky.refresh_from_db()
    assert not members(flaky) and "bug in a custom rule" in flaky.rule_problems[0]
    # The scheduled rebuild retries it, goes on past it while it fails, and clears the mark.
    assert rebuild_all_segments()["flaky"] == {"failed": True}
    flaky_rule[0] = False
    rebuild_all_segments()
    flaky.refresh_from_db()
    assert members(flaky) == {visitor.pk} and flaky.rule_problems == []


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_segment_locked_by_a_long_rebuild_does_not_block_the_pass():
    """Its contacts are evaluated once the lock is free, by the segment's next evaluation
    (here: the next pass that touches it)."""
    page = factories.content_page()
    visitor, later = factories.contact(), factories.contact()
    seen_today = segment(rule("date", field="last_seen", operator="today"), slug="seen-today")
    view(visitor, page)
    rebuilding = Segment.objects.select_for_update().filter(pk=seen_today.pk)
    with in_open_transaction(lambda: list(rebuilding)):
        started = time.monotonic()
        process_new_events()
        assert time.monotonic() - started < 2
        visitor.refresh_from_db()
        assert visitor.last_seen is not None and not members(seen_today)
    view(later, page)
    process_new_events()
    assert members(seen_today) == {visitor.pk, later.pk}
