"""Reminders: which members of a segment nobody has touched for too long.

A segment may have a reminder period (``Segment.reminder_days``). A member's period starts
when they joined the segment (``Membership.added_at``) and starts again with every touchpoint
that counts: manual ones (a call, meeting or note logged by staff) always, automatic ones (an
email or SMS sent by a campaign) only when ``Segment.automatic_touchpoints_count`` is set. A
member whose period started more than ``reminder_days`` ago is *expired*. Touchpoints are
logged by ``contacts.touchpoints.log_touchpoint``.

Everything here is one SQL query per segment, never a Python loop over contacts. The filter
uses the equivalent form "joined before the cutoff and no counting touchpoint since the cutoff"
(a NOT EXISTS probe on the touchpoint index), which is cheaper than comparing the computed
period start row by row; the rows still carry ``last_touch`` and ``period_start`` for display.
"""

from __future__ import annotations

import datetime

from django.db.models import DateTimeField, Exists, F, FilteredRelation, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from wagtail_segments.contacts.models import Contact, Touchpoint

from .models import Segment


def _counting_touchpoints(segment: Segment) -> QuerySet:
    touchpoints = Touchpoint.objects.all()
    if not segment.automatic_touchpoints_count:
        touchpoints = touchpoints.filter(automatic=False)
    return touchpoints


def members_with_touches(segment: Segment) -> QuerySet:
    """The segment's members (excluded rows left out), each annotated with

    - ``member_since``: when the membership began (``Membership.added_at``);
    - ``last_touch``: the time of the latest touchpoint that counts for this segment, or None;
    - ``period_start``: the later of the two, when the member's reminder period began.

    Ordered by ``period_start``, oldest first. One query.
    """
    latest_touch = (
        _counting_touchpoints(segment)
        .filter(contact=OuterRef("pk"))
        .order_by("-time")
        .values("time")[:1]
    )
    return (
        Contact.objects.annotate(
            _membership=FilteredRelation(
                "segment_memberships",
                condition=Q(segment_memberships__segment=segment, segment_memberships__excluded=False),
            ),
        )
        .filter(_membership__id__isnull=False)
        .annotate(
            member_since=F("_membership__added_at"),
            last_touch=Subquery(latest_touch, output_field=DateTimeField()),
            period_start=Greatest(
                "member_since", Coalesce("last_touch", "member_since"), output_field=DateTimeField()
            ),
        )
        .order_by("period_start", "pk")
    )


def _cutoff(segment: Segment, now) -> datetime.datetime:
    return (now or timezone.now()) - datetime.timedelta(days=segment.reminder_days)


def _expired_by(segment: Segment, cutoff: datetime.datetime) -> Q:
    """Members whose period started before ``cutoff``: period_start < cutoff exactly when the
    membership began before it and no counting touchpoint happened at or after it."""
    touched_since = _counting_touchpoints(segment).filter(contact=OuterRef("pk"), time__gte=cutoff)
    return Q(member_since__lt=cutoff) & ~Exists(touched_since)


def expired_members(segment: Segment, now=None) -> QuerySet:
    """Members not touched within the segment's reminder period, as of ``now``.

    A queryset of contacts annotated as in ``members_with_touches``; empty for a segment
    without a reminder period.
    """
    if not segment.reminder_days:
        return Contact.objects.none()
    return members_with_touches(segment).filter(_expired_by(segment, _cutoff(segment, now)))


def expired_count(segment: Segment, now=None) -> int:
    """How many members of ``segment`` are expired; 0 without a reminder period."""
    if not segment.reminder_days:
        return 0
    return expired_members(segment, now).count()


def expired_counts(now=None) -> dict[int, int]:
    """``{segment id: expired members}`` for every segment with a reminder period (one query each)."""
    now = now or timezone.now()
    return {
        segment.pk: expired_count(segment, now)
        for segment in Segment.objects.filter(reminder_days__gt=0).order_by("pk")
    }


def due_soon(segment: Segment, days: int, now=None) -> QuerySet:
    """Members not expired yet whose period runs out within the next ``days`` days.

    Annotated as in ``members_with_touches``; empty without a reminder period.
    """
    if not segment.reminder_days:
        return Contact.objects.none()
    cutoff = _cutoff(segment, now)
    return members_with_touches(segment).filter(
        ~_expired_by(segment, cutoff), _expired_by(segment, cutoff + datetime.timedelta(days=days))
    )


def expires_at(segment: Segment, period_start: datetime.datetime) -> datetime.datetime | None:
    """When a period that began at ``period_start`` runs out (None without a reminder period)."""
    if not segment.reminder_days:
        return None
    return period_start + datetime.timedelta(days=segment.reminder_days)
