"""Daily segment counts, kept for charts."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests import factories
from wagtail_segments.models import Membership, Segment, SegmentDailyCount
from wagtail_segments.segments import history, tasks
from wagtail_segments.segments.history import daily_counts, record_daily_counts

pytestmark = pytest.mark.django_db

DAY = datetime.date(2025, 3, 10)


def segment(slug):
    return Segment.objects.create(name=slug.title(), slug=slug, kind=Segment.Kind.STATIC)


def add_members(seg, n, excluded=False):
    for _ in range(n):
        Membership.objects.create(segment=seg, contact=factories.contact(), excluded=excluded)


def stored(seg):
    return list(SegmentDailyCount.objects.filter(segment=seg).order_by("date").values_list("date", "count"))


def test_record_daily_counts_counts_members_not_excluded_rows():
    a, b, empty = segment("a"), segment("b"), segment("empty")
    add_members(a, 3)
    add_members(a, 2, excluded=True)
    add_members(b, 1)
    assert record_daily_counts(today=DAY) == 3
    assert stored(a) == [(DAY, 3)]
    assert stored(b) == [(DAY, 1)]
    assert stored(empty) == [(DAY, 0)]


def test_record_daily_counts_is_idempotent_and_keeps_the_latest_count_of_the_day():
    seg = segment("a")
    add_members(seg, 2)
    record_daily_counts(today=DAY)
    record_daily_counts(today=DAY)
    assert stored(seg) == [(DAY, 2)]
    add_members(seg, 1)
    record_daily_counts(today=DAY)
    assert stored(seg) == [(DAY, 3)]
    record_daily_counts(today=DAY + datetime.timedelta(days=1))
    assert stored(seg) == [(DAY, 3), (DAY + datetime.timedelta(days=1), 3)]


def test_record_daily_counts_costs_the_same_for_many_segments():
    for i in range(20):
        add_members(segment(f"s{i}"), 1)
    with CaptureQueriesContext(connection) as queries:
        record_daily_counts(today=DAY)
    assert len(queries) <= 3
    assert SegmentDailyCount.objects.count() == 20


def test_record_daily_counts_defaults_to_today():
    seg = segment("a")
    record_daily_counts()
    assert stored(seg) == [(timezone.localdate(), 0)]


@pytest.mark.xfail(
    tasks.record_daily_counts is not history.record_daily_counts, strict=True,
    reason="segments/tasks.py still has its own record_daily_counts (reads the cached member_count)",
)
def test_the_scheduled_task_writes_the_same_rows():
    seg = segment("a")
    add_members(seg, 2)
    seg.refresh_from_db()
    tasks.record_daily_counts()
    assert stored(seg) == [(timezone.localdate(), 2)]


def day(n):
    return DAY + datetime.timedelta(days=n)


def test_daily_counts_fills_gaps_with_the_previous_known_count():
    seg = segment("a")
    for offset, count in [(0, 5), (3, 8), (4, 6)]:
        SegmentDailyCount.objects.create(segment=seg, date=day(offset), count=count)
    assert daily_counts(seg, days=7, today=day(6)) == [
        (day(0), 5), (day(1), 5), (day(2), 5), (day(3), 8), (day(4), 6), (day(5), 6), (day(6), 6),
    ]


def test_daily_counts_starts_from_the_count_known_before_the_window():
    seg = segment("a")
    SegmentDailyCount.objects.create(segment=seg, date=day(-30), count=4)
    SegmentDailyCount.objects.create(segment=seg, date=day(-10), count=7)
    SegmentDailyCount.objects.create(segment=seg, date=day(2), count=9)
    assert daily_counts(seg, days=4, today=day(3)) == [(day(0), 7), (day(1), 7), (day(2), 9), (day(3), 9)]


def test_daily_counts_leaves_out_days_before_the_first_count():
    seg = segment("a")
    other = segment("b")
    SegmentDailyCount.objects.create(segment=other, date=day(0), count=99)
    SegmentDailyCount.objects.create(segment=seg, date=day(5), count=2)
    assert daily_counts(seg, days=10, today=day(6)) == [(day(5), 2), (day(6), 2)]
    assert daily_counts(seg, days=10, today=day(4)) == []
    assert daily_counts(seg, days=0, today=day(6)) == []


def test_daily_counts_ignores_rows_after_today():
    seg = segment("a")
    SegmentDailyCount.objects.create(segment=seg, date=day(0), count=1)
    SegmentDailyCount.objects.create(segment=seg, date=day(2), count=5)
    assert daily_counts(seg, days=2, today=day(1)) == [(day(0), 1), (day(1), 1)]


def test_recorded_counts_feed_the_chart_series():
    seg = segment("a")
    add_members(seg, 1)
    record_daily_counts(today=day(0))
    add_members(seg, 2)
    record_daily_counts(today=day(2))
    assert daily_counts(seg, days=3, today=day(2)) == [(day(0), 1), (day(1), 1), (day(2), 3)]
