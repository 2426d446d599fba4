"""Each segment's size per day, kept for charts."""

from __future__ import annotations

import datetime

from django.db.models import Count, Q
from django.utils import timezone

from .models import Segment, SegmentDailyCount


def record_daily_counts(today: datetime.date | None = None) -> int:
    """Store every segment's member count for ``today`` (the local date by default).

    The count is taken from the membership rows (excluded rows left out), not from the cached
    ``Segment.member_count``. Running it again on the same day overwrites that day's row with
    the newer count, so retries and a second worker are harmless. Returns the number of
    segments recorded. Two queries, whatever the number of segments.
    """
    today = today or timezone.localdate()
    sizes = Segment.objects.order_by().annotate(
        size=Count("memberships", filter=Q(memberships__excluded=False))
    ).values_list("pk", "size")
    rows = [SegmentDailyCount(segment_id=pk, date=today, count=size) for pk, size in sizes]
    if rows:
        SegmentDailyCount.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["segment", "date"], update_fields=["count"],
        )
    return len(rows)


def daily_counts(segment: Segment, days: int = 90, today: datetime.date | None = None) -> list[tuple[datetime.date, int]]:
    """``[(date, members), ...]`` for the ``days`` days up to ``today``, oldest first.

    A day without a recorded count takes the previous known count (the task may have missed a
    day, and today's count may not be taken yet). Days before the segment's first known count
    are left out, so the list is shorter than ``days`` for a young segment.
    """
    today = today or timezone.localdate()
    if days <= 0:
        return []
    start = today - datetime.timedelta(days=days - 1)
    recorded = dict(
        SegmentDailyCount.objects.filter(segment=segment, date__gte=start, date__lte=today)
        .values_list("date", "count")
    )
    before = (
        SegmentDailyCount.objects.filter(segment=segment, date__lt=start)
        .order_by("-date").values_list("count", flat=True).first()
    )
    series: list[tuple[datetime.date, int]] = []
    known = before
    for offset in range(days):
        day = start + datetime.timedelta(days=offset)
        known = recorded.get(day, known)
        if known is not None:
            series.append((day, known))
    return series
