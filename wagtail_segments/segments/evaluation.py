"""Applying rule results to stored memberships: the one set-based diff that the full rebuild
and the incremental path both use, so they cannot disagree.

Members = (rule matches ∪ sticky includes) − manual excludes. Each batch runs in one
transaction holding the segment's row lock, and computes its matches under that lock, so a
slower evaluation can never write an older answer over a newer one.
"""

from __future__ import annotations

import logging
import time
from array import array
from dataclasses import dataclass, field
from typing import Iterable, Iterator

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from wagtail_segments.contacts.models import Event, EventKind
from wagtail_segments.signals import segment_entered, segment_left

from .database import segment_queries
from .compiler import dependencies, matching_contacts, moving_events
from .models import Membership, Segment
from .rules import RuleContext
from .rules.base import COUNTRY_CHANGED, LAST_SEEN_CHANGED
from .writes import insert_events, insert_memberships

logger = logging.getLogger(__name__)

REBUILD_CHUNK = 10_000
MEMBERSHIP_PAGE = 10_000
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


def membership_data(segment: Segment, **data) -> dict:
    return {"segment": segment.slug, "segment_id": segment.pk, "name": segment.name, **data}


def notify(segment: Segment, entered: list[int], left: list[int], source: str, initial: bool = False) -> None:
    """Send the entered/left signals once the batch is committed."""
    def send():
        if entered:
            segment_entered.send(sender=Segment, segment=segment, contact_ids=entered, source=source, initial=initial)
        if left:
            segment_left.send(sender=Segment, segment=segment, contact_ids=left, source=source)

    if entered or left:
        transaction.on_commit(send)


def record_changes(segment: Segment, entered: list[int], left: list[int], source: str, *,
                   initial: bool = False) -> None:
    """The timeline events, the cached count and the signals of contacts entering and leaving."""
    now = timezone.now()
    extra = {"initial": initial} if source == Membership.Source.RULE else {"source": source}
    if entered:
        insert_events(entered, EventKind.SEGMENT_ENTERED, now, membership_data(segment, **extra))
    if left:
        extra.pop("initial", None)
        insert_events(left, EventKind.SEGMENT_LEFT, now, membership_data(segment, **extra))
    change = len(entered) - len(left)
    if change:
        Segment.objects.filter(pk=segment.pk).update(member_count=F("member_count") + change)
    notify(segment, entered, left, source, initial)


def apply_matches(segment: Segment, matches: set[int], scope: dict, *, initial: bool = False) -> Outcome:
    """Make the rule rows of ``segment`` within ``scope`` equal ``matches``. Call inside a
    transaction that holds the segment lock. ``scope`` filters memberships by contact_id.

    The existing rows are read a page at a time in contact order, so memory is bounded by
    ``matches`` and one page even when a large segment empties."""
    rows = (
        Membership.objects.filter(segment=segment, **scope).order_by("contact_id")
        .values_list("contact_id", "source", "excluded")
    )
    seen: set[int] = set()
    left_members: list[int] = []
    after = None
    while True:
        page = list((rows if after is None else rows.filter(contact_id__gt=after))[:MEMBERSHIP_PAGE])
        gone = []
        for cid, source, excluded in page:
            if cid in matches:
                seen.add(cid)
            elif source == Membership.Source.RULE:
                gone.append(cid)
                if not excluded:
                    left_members.append(cid)
        if gone:
            Membership.objects.filter(segment=segment, contact_id__in=gone).delete()
        if len(page) < MEMBERSHIP_PAGE:
            break
        after = page[-1][0]
    entered = sorted(matches - seen)
    if entered:
        insert_memberships(segment.pk, entered, Membership.Source.RULE, timezone.now())
    record_changes(segment, entered, left_members, Membership.Source.RULE, initial=initial)
    return Outcome(entered=len(entered), left=len(left_members))


def _ordered_matches(segment: Segment, context: RuleContext) -> Iterator[int]:
    """The segment's matches in id order, streamed where the database allows it."""
    ids = matching_contacts(segment, context).order_by("pk")
    if connection.vendor == "postgresql":
        # A server-side cursor: rows arrive as they are read, memory stays one chunk.
        return ids.iterator(chunk_size=REBUILD_CHUNK)
    # SQLite does not isolate a reading cursor from the same connection's writes (the diff
    # writes events while the query may read them): read all the ids first, before any
    # write, 8 bytes each (no list of Python ints on the way).
    return iter(array("q", ids.iterator(chunk_size=REBUILD_CHUNK)))


def rebuild_segment(segment: Segment, *, now=None, chunk_size: int = REBUILD_CHUNK) -> Outcome:
    """Re-evaluate every contact against a dynamic segment: one query, its ordered matches
    applied ``chunk_size`` at a time, all under the segment's lock.

    One query, not one per id range: the work a rule does once for the whole table (a page's
    views in a window, a tag's contacts) would otherwise be redone for every range
    (docs/scaling.md). The first build of a new segment marks its entries ``initial``.
    """
    started = time.monotonic()
    context = RuleContext(now=now or timezone.now())
    outcome = Outcome()
    initial = segment.last_rebuilt_at is None
    if segment.is_dynamic and segment.active:
        with segment_queries():
            locked = _lock(segment)
            low = 0
            chunk: list[int] = []
            for cid in _ordered_matches(locked, context):
                chunk.append(cid)
                if len(chunk) >= chunk_size:
                    high = cid + 1
                    outcome.add(apply_matches(locked, set(chunk), {"contact_id__gte": low, "contact_id__lt": high}, initial=initial))
                    low, chunk = high, []
            outcome.add(apply_matches(locked, set(chunk), {"contact_id__gte": low}, initial=initial))
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


def count_matches(segment: Segment, *, now=None) -> int:
    """How many contacts the segment's rules match now, saved or not: the live preview of an
    editor changing rules. One COUNT over the compiled query; manual includes and excludes
    are not counted (they belong to a saved segment's members)."""
    with segment_queries():
        return matching_contacts(segment, RuleContext(now=now or timezone.now())).count()


def _evaluate(segment: Segment, ids: list[int], context: RuleContext) -> Outcome:
    outcome = Outcome()
    for start in range(0, len(ids), INCREMENTAL_BATCH):
        chunk = ids[start:start + INCREMENTAL_BATCH]
        context.ids = chunk
        with segment_queries():
            locked = _lock(segment)
            matches = set(matching_contacts(locked, context))
            outcome.add(apply_matches(locked, matches, {"contact_id__in": chunk}))
    return outcome


def _built_segments():
    """Dynamic segments the incremental path keeps fresh: active ones built at least once
    (a segment not yet built gets everyone at its first build)."""
    return Segment.objects.active().dynamic().filter(last_rebuilt_at__isnull=False)


def evaluate_contacts(contact_ids: Iterable[int], reasons: set[str] | None = None, *, now=None) -> Outcome:
    """Re-evaluate the given contacts against the dynamic segments a change of ``reasons``
    can move (all of them when ``reasons`` is None): the incremental path."""
    ids = sorted({int(cid) for cid in contact_ids})
    outcome = Outcome()
    if not ids:
        return outcome
    context = RuleContext(now=now or timezone.now())
    for segment in _built_segments():
        if reasons is None or dependencies(segment) & reasons:
            outcome.add(_evaluate(segment, ids, context))
    return outcome


def evaluate_new_events(first_id: int, last_id: int, contact_ids: Iterable[int], kinds: Iterable[str],
                        *, now=None) -> Outcome:
    """The incremental path after a pass over the events with ids in (first_id, last_id].

    The pass moved every touched contact's last seen and country, so segments with rules on
    those re-evaluate them all; otherwise a segment re-evaluates only the contacts whose new
    events its rules look at (``Rule.moved_by``): a rule on the pricing page is not re-run
    for visitors of the blog."""
    touched = sorted({int(cid) for cid in contact_ids})
    outcome = Outcome()
    if not touched:
        return outcome
    context = RuleContext(now=now or timezone.now())
    window = Event.objects.filter(id__gt=first_id, id__lte=last_id)
    event_reasons = {f"events:{kind}" for kind in kinds}
    for segment in _built_segments():
        found = dependencies(segment)
        if found & {LAST_SEEN_CHANGED, COUNTRY_CHANGED}:
            ids = touched
        elif found & event_reasons and (moving := moving_events(segment, context)) is not None:
            ids = sorted(set(window.filter(moving).order_by().values_list("contact_id", flat=True).distinct()))
        else:
            continue
        if ids:
            outcome.add(_evaluate(segment, ids, context))
    return outcome
