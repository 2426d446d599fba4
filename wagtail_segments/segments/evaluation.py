"""Applying rule results to stored memberships: the one set-based diff that the full rebuild
and the incremental path both use, so they cannot disagree.

Members = (rule matches ∪ sticky includes) − manual excludes. Each batch runs in one
transaction holding the segment's row lock, and computes its matches under that lock, so a
slower evaluation can never write an older answer over a newer one.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Iterable

from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone

from wagtail_segments.contacts.models import Contact, Event, EventKind
from wagtail_segments.signals import segment_entered, segment_left

from .compiler import dependencies, matching_contacts
from .models import Membership, Segment
from .rules import RuleContext

logger = logging.getLogger(__name__)

REBUILD_BATCH = 20_000
INCREMENTAL_BATCH = 2_000


@dataclass
class Outcome:
    entered: int = 0
    left: int = 0
    problems: list[str] = field(default_factory=list)

    def add(self, other: "Outcome") -> None:
        self.entered += other.entered
        self.left += other.left


def _lock(segment: Segment) -> Segment:
    return Segment.objects.select_for_update().get(pk=segment.pk)


def membership_events(segment: Segment, contact_ids: Iterable[int], kind: str, **data) -> list[Event]:
    now = timezone.now()
    payload = {"segment": segment.slug, "segment_id": segment.pk, "name": segment.name, **data}
    return [Event(contact_id=cid, kind=kind, time=now, data=payload) for cid in contact_ids]


def notify(segment: Segment, entered: list[int], left: list[int], source: str, initial: bool = False) -> None:
    """Send the entered/left signals once the batch is committed."""
    def send():
        if entered:
            segment_entered.send(sender=Segment, segment=segment, contact_ids=entered, source=source, initial=initial)
        if left:
            segment_left.send(sender=Segment, segment=segment, contact_ids=left, source=source)

    if entered or left:
        transaction.on_commit(send)


def apply_matches(segment: Segment, matches: set[int], scope: dict, *, initial: bool = False) -> Outcome:
    """Make the rule rows of ``segment`` within ``scope`` equal ``matches``. Call inside a
    transaction that holds the segment lock. ``scope`` filters memberships by contact_id."""
    existing = Membership.objects.filter(segment=segment, **scope).values_list("contact_id", "source", "excluded")
    have: dict[int, tuple[str, bool]] = {cid: (source, excluded) for cid, source, excluded in existing}
    entered = sorted(matches - have.keys())
    left = sorted(
        cid for cid, (source, excluded) in have.items()
        if source == Membership.Source.RULE and cid not in matches
    )
    left_members = [cid for cid in left if not have[cid][1]]
    if entered:
        now = timezone.now()
        Membership.objects.bulk_create(
            [Membership(segment=segment, contact_id=cid, source=Membership.Source.RULE, added_at=now) for cid in entered],
            batch_size=2000,
        )
    if left:
        Membership.objects.filter(segment=segment, contact_id__in=left).delete()
    events = membership_events(segment, entered, EventKind.SEGMENT_ENTERED, initial=initial)
    events += membership_events(segment, left_members, EventKind.SEGMENT_LEFT)
    if events:
        Event.objects.bulk_create(events, batch_size=2000)
    change = len(entered) - len(left_members)
    if change:
        Segment.objects.filter(pk=segment.pk).update(member_count=F("member_count") + change)
    notify(segment, entered, left_members, Membership.Source.RULE, initial)
    return Outcome(entered=len(entered), left=len(left_members))


def rebuild_segment(segment: Segment, *, now=None, batch_size: int = REBUILD_BATCH) -> Outcome:
    """Re-evaluate every contact against a dynamic segment, in contact-id ranges.

    Memory stays flat: each batch holds at most ``batch_size`` ids. The first build of a new
    segment marks its entries ``initial``.
    """
    started = time.monotonic()
    context = RuleContext(now=now or timezone.now())
    outcome = Outcome()
    initial = segment.last_rebuilt_at is None
    if segment.is_dynamic and segment.active:
        highest = Contact.objects.aggregate(m=Max("pk"))["m"] or 0
        low = 1
        while low <= highest:
            high = low + batch_size
            context.id_range = (low, high)
            context.problems = []
            with transaction.atomic():
                locked = _lock(segment)
                matches = set(matching_contacts(locked, context))
                outcome.add(apply_matches(locked, matches, {"contact_id__gte": low, "contact_id__lt": high}, initial=initial))
            low = high
        if highest == 0:
            matching_contacts(segment, context)  # still compile, to report problems
        outcome.problems = context.problems
    count = Membership.objects.filter(segment=segment, excluded=False).count()
    elapsed = time.monotonic() - started
    Segment.objects.filter(pk=segment.pk).update(
        member_count=count, last_rebuilt_at=timezone.now(), last_rebuild_seconds=elapsed,
        rule_problems=outcome.problems,
    )
    segment.member_count, segment.last_rebuild_seconds, segment.rule_problems = count, elapsed, outcome.problems
    logger.info("Rebuilt segment %s: +%s −%s in %.2fs", segment.slug, outcome.entered, outcome.left, elapsed)
    return outcome


def evaluate_contacts(contact_ids: Iterable[int], reasons: set[str] | None = None, *, now=None) -> Outcome:
    """Re-evaluate the given contacts against the dynamic segments a change of ``reasons``
    can move (all of them when ``reasons`` is None): the incremental path."""
    ids = sorted({int(cid) for cid in contact_ids})
    outcome = Outcome()
    if not ids:
        return outcome
    context = RuleContext(now=now or timezone.now())
    for segment in Segment.objects.active().dynamic().filter(last_rebuilt_at__isnull=False):
        if reasons is not None and not (dependencies(segment) & reasons):
            continue
        for start in range(0, len(ids), INCREMENTAL_BATCH):
            chunk = ids[start:start + INCREMENTAL_BATCH]
            context.ids = chunk
            with transaction.atomic():
                locked = _lock(segment)
                matches = set(matching_contacts(locked, context))
                outcome.add(apply_matches(locked, matches, {"contact_id__in": chunk}))
    return outcome
