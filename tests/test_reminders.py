"""Reminders: members not touched within a segment's reminder period are expired."""

import datetime

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests import factories
from wagtail_segments.contacts.touchpoints import log_touchpoint
from wagtail_segments.models import Membership, Segment, Touchpoint
from wagtail_segments.segments.reminders import (
    due_soon,
    expired_count,
    expired_counts,
    expired_members,
    members_with_touches,
)

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def days_ago(n):
    return NOW - datetime.timedelta(days=n)


def segment(slug="customers", **fields):
    fields.setdefault("reminder_days", 30)
    return Segment.objects.create(name=slug.title(), slug=slug, kind=Segment.Kind.STATIC, **fields)


def member(seg, added_days_ago=100, excluded=False, **contact_fields):
    contact = factories.contact(**contact_fields)
    Membership.objects.create(
        segment=seg, contact=contact, source=Membership.Source.MANUAL,
        added_at=days_ago(added_days_ago), excluded=excluded,
    )
    return contact


def touch(contact, kind, days):
    return log_touchpoint(contact, kind, time=days_ago(days))


def expired_ids(seg, now=NOW):
    return set(expired_members(seg, now=now).values_list("pk", flat=True))


# expired_members


def test_a_member_not_touched_within_the_period_is_expired():
    seg = segment(reminder_days=30)
    stale = member(seg, added_days_ago=100)
    fresh = member(seg, added_days_ago=100)
    touch(fresh, "call", days=10)
    assert expired_ids(seg) == {stale.pk}


def test_a_manual_touchpoint_restarts_the_period():
    seg = segment(reminder_days=30)
    contact = member(seg, added_days_ago=100)
    touch(contact, "meeting", days=40)
    assert expired_ids(seg) == {contact.pk}
    touch(contact, "note", days=29)
    assert expired_ids(seg) == set()
    # ... and it runs out again 30 days after that touch.
    assert expired_ids(seg, now=NOW + datetime.timedelta(days=2)) == {contact.pk}


def test_the_latest_touchpoint_counts_not_the_first():
    seg = segment(reminder_days=30)
    contact = member(seg, added_days_ago=100)
    touch(contact, "call", days=5)
    touch(contact, "call", days=80)  # logged later, happened earlier
    assert expired_ids(seg) == set()
    row = members_with_touches(seg).get(pk=contact.pk)
    assert row.last_touch == days_ago(5)
    assert row.period_start == days_ago(5)


@pytest.mark.parametrize("kind", ["email", "sms"])
def test_automatic_touchpoints_count_only_when_the_segment_says_so(kind):
    counting = segment("counting", reminder_days=30, automatic_touchpoints_count=True)
    manual_only = segment("manual-only", reminder_days=30, automatic_touchpoints_count=False)
    contact = factories.contact()
    for seg in (counting, manual_only):
        Membership.objects.create(segment=seg, contact=contact, added_at=days_ago(100))
    touch(contact, kind, days=3)
    assert expired_ids(counting) == set()
    assert expired_ids(manual_only) == {contact.pk}
    # An older manual touch still counts for the segment that ignores automatic ones.
    touch(contact, "call", days=20)
    assert expired_ids(manual_only) == set()
    assert members_with_touches(manual_only).get().last_touch == days_ago(20)
    assert members_with_touches(counting).get().last_touch == days_ago(3)


def test_a_recent_member_is_not_expired_even_without_touchpoints():
    seg = segment(reminder_days=30)
    recent = member(seg, added_days_ago=5)
    assert expired_ids(seg) == set()
    assert expired_ids(seg, now=NOW + datetime.timedelta(days=26)) == {recent.pk}


def test_a_touchpoint_before_joining_does_not_push_the_period_back():
    seg = segment(reminder_days=30)
    contact = member(seg, added_days_ago=10)
    touch(contact, "call", days=200)
    assert expired_ids(seg) == set()
    assert members_with_touches(seg).get().period_start == days_ago(10)


def test_excluded_rows_are_never_expired():
    seg = segment(reminder_days=30)
    member(seg, added_days_ago=400, excluded=True)
    assert expired_ids(seg) == set()
    assert expired_count(seg) == 0


def test_only_members_of_this_segment_are_expired():
    seg = segment("a", reminder_days=30)
    other = segment("b", reminder_days=30)
    mine = member(seg, added_days_ago=100)
    member(other, added_days_ago=100)
    factories.contact()  # in no segment at all
    assert expired_ids(seg) == {mine.pk}


@pytest.mark.parametrize("days", [None, 0])
def test_a_segment_without_a_period_has_no_expired_members(days):
    seg = segment(reminder_days=days)
    member(seg, added_days_ago=1000)
    assert list(expired_members(seg)) == []
    assert expired_count(seg) == 0
    assert list(due_soon(seg, 7)) == []


def test_the_boundary_is_exactly_the_period():
    seg = segment(reminder_days=30)
    contact = member(seg, added_days_ago=30)
    assert expired_ids(seg, now=NOW - datetime.timedelta(seconds=1)) == set()
    assert expired_ids(seg, now=NOW + datetime.timedelta(seconds=1)) == {contact.pk}


def test_expired_members_is_one_query_and_oldest_first():
    seg = segment(reminder_days=30)
    contacts = [member(seg, added_days_ago=100 + i) for i in range(5)]
    for i, contact in enumerate(contacts[:3]):
        touch(contact, "call", days=40 + i)
    with CaptureQueriesContext(connection) as queries:
        rows = list(expired_members(seg))
    assert len(queries) == 1
    assert [c.pk for c in rows] == [c.pk for c in reversed(contacts[3:])] + [c.pk for c in reversed(contacts[:3])]


def test_due_soon_lists_members_whose_period_runs_out_within_n_days():
    seg = segment(reminder_days=30)
    expired = member(seg, added_days_ago=31)
    in_three_days = member(seg, added_days_ago=27)
    in_ten_days = member(seg, added_days_ago=20)
    assert set(due_soon(seg, 7, now=NOW).values_list("pk", flat=True)) == {in_three_days.pk}
    assert set(due_soon(seg, 14, now=NOW).values_list("pk", flat=True)) == {in_three_days.pk, in_ten_days.pk}
    assert expired_ids(seg) == {expired.pk}


def test_expired_counts_for_every_segment_with_a_period():
    a = segment("a", reminder_days=30)
    b = segment("b", reminder_days=7)
    no_period = segment("c", reminder_days=None)
    for _ in range(3):
        member(a, added_days_ago=40)
    member(a, added_days_ago=1)
    member(b, added_days_ago=8)
    member(no_period, added_days_ago=500)
    assert expired_count(a, now=NOW) == 3
    assert expired_counts(now=NOW) == {a.pk: 3, b.pk: 1}


# Management commands


def test_segment_reminders_prints_each_segment_with_a_period(capsys):
    a = segment("customers", reminder_days=30, automatic_touchpoints_count=False)
    segment("no-period", reminder_days=None)
    member(a, added_days_ago=40)
    member(a, added_days_ago=1)
    call_command("segment_reminders")
    out = capsys.readouterr().out
    assert "customers: 1 expired" in out
    assert "period 30 days, manual touchpoints only" in out
    assert "no-period" not in out


def test_segment_reminders_lists_the_expired_members(capsys):
    seg = segment("customers", reminder_days=30)
    ann = member(seg, added_days_ago=100, email="ann@example.com")
    member(seg, added_days_ago=100, first_name="Bob", last_name="Jones")
    member(seg, added_days_ago=2, email="new@example.com")
    touch(ann, "call", days=45)
    call_command("segment_reminders", "--segment", "customers", "--list")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("customers: 2 expired")
    assert lines[1].split("\t") == ["  Bob Jones", "100 days, never touched"]
    assert lines[2].split("\t") == ["  ann@example.com", "45 days since last touch"]
    assert len(lines) == 3


def test_segment_reminders_rejects_an_unknown_segment_or_one_without_a_period():
    segment("plain", reminder_days=None)
    with pytest.raises(CommandError, match="No segment"):
        call_command("segment_reminders", "--segment", "nope")
    with pytest.raises(CommandError, match="no reminder period"):
        call_command("segment_reminders", "--segment", "plain")


def test_segment_reminders_without_any_period(capsys):
    call_command("segment_reminders")
    assert "No segment has a reminder period." in capsys.readouterr().out


@pytest.mark.parametrize("automatic_count", [True, False])
def test_expired_and_due_soon_agree_with_the_definition(automatic_count):
    """Against a plain-Python reading of the rule, over varied members and touchpoints."""
    import random

    rng = random.Random(7)
    seg = segment(reminder_days=20, automatic_touchpoints_count=automatic_count)
    expected_start = {}
    for _ in range(30):
        contact = member(seg, added_days_ago=rng.randint(0, 90))
        added = Membership.objects.get(segment=seg, contact=contact).added_at
        times = [added]
        for _ in range(rng.randint(0, 3)):
            kind = rng.choice(Touchpoint.Kind.values)
            tp = touch(contact, kind, days=rng.randint(0, 120))
            if not tp.automatic or automatic_count:
                times.append(tp.time)
        expected_start[contact.pk] = max(times)
    member(seg, added_days_ago=500, excluded=True)
    for shift in (0, 10, 40):
        now = NOW + datetime.timedelta(days=shift)
        cutoff = now - datetime.timedelta(days=20)
        assert expired_ids(seg, now) == {pk for pk, start in expected_start.items() if start < cutoff}
        soon = set(due_soon(seg, 5, now=now).values_list("pk", flat=True))
        assert soon == {
            pk for pk, start in expected_start.items()
            if cutoff <= start < cutoff + datetime.timedelta(days=5)
        }
    rows = {c.pk: c.period_start for c in members_with_touches(seg)}
    assert rows == expected_start
