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

from django.db import OperationalError, connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from wagtail_segments.contacts.models import EventKind
from wagtail_segments.signals import segment_entered, segment_left

from .database import preview_queries, segment_queries
from .compiler import dependencies, matching_contacts, moving_events
from .models import Membership, PendingEvaluation, Segment
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
    deferred: bool = False  # the segment was locked: contacts left in PendingEvaluation

    def add(self, other: "Outcome") -> None:
        self.entered += other.entered
        self.left += other.left


def _lock(segment: Segment) -> Segment:
    return Segment.objects.select_for_update().get(pk=segment.pk)


def _lock_now(segment: Segment) -> Segment | None:
    """The segment locked, or None when another transaction (a long rebuild) holds it."""
    try:
        with transaction.atomic():  # a failed NOWAIT aborts a PostgreSQL transaction: a savepoint
            return Segment.objects.select_for_update(nowait=True).get(pk=segment.pk)
    except OperationalError:
        return None


def _defer(segment: Segment, contact_ids: list[int]) -> None:
    """Leave contacts for the segment's next evaluation (PendingEvaluation)."""
    PendingEvaluation.objects.bulk_create(
        [PendingEvaluation(segment_id=segment.pk, contact_id=cid) for cid in contact_ids],
        ignore_conflicts=True, batch_size=2000,
    )


def _take_pending(segment: Segment) -> set[int]:
    """The contacts left for this segment while it was locked, taken off the list."""
    taken = dict(PendingEvaluation.objects.filter(segment_id=segment.pk).values_list("id", "contact_id"))
    if taken:
        PendingEvaluation.objects.filter(id__in=list(taken)).delete()
    return set(taken.values())


def mark_failed(segment: Segment, error: Exception) -> None:
    """Show editors that the segment's rules raised (in ``rule_problems``); its members stay
    as they were until a rebuild succeeds, which clears the message."""
    detail = f"{type(error).__name__}: {error}"[:500]
    message = gettext("The rules could not be evaluated (%(error)s). The next rebuild tries again.") % {
        "error": detail
    }
    Segment.objects.filter(pk=segment.pk).update(rule_problems=[message])
    segment.rule_problems = [message]


def membership_data(segment: Segment, **data) -> dict:
    return {"segment": segment.slug, "segment_id": segment.pk, "name": segment.name, **data}


def notify(segment: Segment, entered: list[int], left: list[int], source: str, initial: bool = False) -> None:
    """Send the entered/left signals once the batch is committed. ``source`` is always a
    plain ``str`` (a ``Membership.Source`` value), whichever path made the change."""
    source = str(source)

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
    source = str(source)  # a Membership.Source member and its value are one thing to receivers
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
    if segment.is_dynamic and segment.active:
        with segment_queries():
            locked = _lock(segment)
            # Read under the lock, not from the caller's object: a stale copy would take a
            # second build for a first one and keep its entries from campaigns.
            initial = locked.last_rebuilt_at is None
            # What was left for this segment is covered by the query below, run under the lock.
            PendingEvaluation.objects.filter(segment_id=segment.pk).delete()
            low = 0
            chunk: list[int] = []
            for cid in _ordered_matches(locked, context):
                chunk.append(cid)
                if len(chunk) >= chunk_size:
                    high = cid + 1
                    outcome.add(apply_matches(locked, set(chunk), {"contact_id__gte": low, "contact_id__lt": high}, initial=initial))
                    low, chunk = high, []
            outcome.add(apply_matches(locked, set(chunk), {"contact_id__gte": low}, initial=initial))
            # Contacts left by the incremental path while this rebuild held the lock: their
            # news may have come after the query above started.
            late = sorted(_take_pending(locked))
            for start in range(0, len(late), INCREMENTAL_BATCH):
                outcome.add(_apply_to(locked, late[start:start + INCREMENTAL_BATCH], context))
            context.ids = None
        outcome.problems = context.problems
    count = Membership.objects.filter(segment=segment, excluded=False).count()
    elapsed = time.monotonic() - started
    rebuilt_at = timezone.now()
    Segment.objects.filter(pk=segment.pk).update(
        member_count=count, last_rebuilt_at=rebuilt_at, last_rebuild_seconds=elapsed,
        rule_problems=outcome.problems,
    )
    segment.member_count, segment.last_rebuild_seconds, segment.rule_problems = count, elapsed, outcome.problems
    segment.last_rebuilt_at = rebuilt_at
    logger.info("Rebuilt segment %s: +%s −%s in %.2fs", segment.slug, outcome.entered, outcome.left, elapsed)
    return outcome


def count_matches(segment: Segment, *, now=None) -> int:
    """How many contacts the segment's rules match now, saved or not: the live preview of an
    editor changing rules. One COUNT over the compiled query; manual includes and excludes
    are not counted (they belong to a saved segment's members)."""
    with preview_queries():
        return matching_contacts(segment, RuleContext(now=now or timezone.now())).count()


def _evaluate(segment: Segment, ids: list[int], context: RuleContext) -> Outcome:
    """Apply the segment's rules to ``ids``, a chunk per transaction. A segment locked by
    another transaction is not waited for: the contacts are left for its next evaluation."""
    outcome = Outcome()
    for start in range(0, len(ids), INCREMENTAL_BATCH):
        chunk = ids[start:start + INCREMENTAL_BATCH]
        with segment_queries():
            locked = _lock_now(segment)
            if locked is None:
                logger.info("Segment %s is locked; %s contacts left for later.", segment.slug, len(ids) - start)
                _defer(segment, ids[start:])
                outcome.deferred = True
                return outcome
            outcome.add(_apply_to(locked, chunk, context))
    return outcome


def _apply_to(locked: Segment, ids: list[int], context: RuleContext) -> Outcome:
    """Re-evaluate ``ids`` (a chunk) against a segment locked by the caller."""
    context.ids = ids
    return apply_matches(locked, set(matching_contacts(locked, context)), {"contact_id__in": ids})


def _evaluate_in_isolation(segment: Segment, ids: list[int], context: RuleContext, pending: set[int]) -> Outcome:
    """One segment's incremental evaluation, with the contacts left for it (when the
    segment's id is in ``pending``). Whatever its rules raise is logged and shown on the
    segment, and stops only this segment: the others, and the pass, go on."""
    try:
        if segment.pk in pending:
            ids = sorted({*ids, *_take_pending(segment)})
        return _evaluate(segment, ids, context) if ids else Outcome()
    except Exception as error:
        logger.exception("Evaluating segment %s failed.", segment.slug)
        mark_failed(segment, error)
        return Outcome()


def rebuild_in_isolation(segment: Segment) -> Outcome | None:
    """``rebuild_segment`` for tasks: a segment whose rules raise is marked (``mark_failed``)
    and None returned, so the next segment is still rebuilt."""
    try:
        return rebuild_segment(segment)
    except Exception as error:
        logger.exception("Rebuilding segment %s failed.", segment.slug)
        mark_failed(segment, error)
        return None


def _segments_with_pending() -> set[int]:
    return set(PendingEvaluation.objects.values_list("segment_id", flat=True).distinct())


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
    pending = _segments_with_pending()
    work = [
        (segment, ids) for segment in _built_segments()
        if reasons is None or dependencies(segment) & reasons or segment.pk in pending
    ]
    return _evaluate_all(work, context, pending)


def _evaluate_all(work: list[tuple[Segment, list[int]]], context: RuleContext, pending: set[int]) -> Outcome:
    """Evaluate each (segment, contact ids) on its own; a segment found locked is tried once
    more at the end, when a lock held only briefly (another increment) is free again."""
    outcome = Outcome()
    locked = []
    for segment, ids in work:
        result = _evaluate_in_isolation(segment, ids, context, pending)
        if result.deferred:
            locked.append(segment)
        outcome.add(result)
    for segment in locked:
        outcome.add(_evaluate_in_isolation(segment, [], context, {segment.pk}))
    return outcome


def evaluate_new_events(events: QuerySet, contact_ids: Iterable[int], kinds: Iterable[str],
                        *, now=None) -> Outcome:
    """The incremental path after a batch of the pass over new events (``events``).

    The pass moved every touched contact's last seen and country, so segments with rules on
    those re-evaluate them all; otherwise a segment re-evaluates only the contacts whose new
    events its rules look at (``Rule.moved_by``): a rule on the pricing page is not re-run
    for visitors of the blog. Runs after the pass's commit, each segment on its own."""
    touched = sorted({int(cid) for cid in contact_ids})
    context = RuleContext(now=now or timezone.now())
    event_reasons = {f"events:{kind}" for kind in kinds}
    pending = _segments_with_pending()
    work = []
    for segment in _built_segments():
        found = dependencies(segment)
        if found & {LAST_SEEN_CHANGED, COUNTRY_CHANGED}:
            ids = touched
        elif found & event_reasons and (moving := moving_events(segment, context)) is not None:
            ids = sorted(set(events.filter(moving).order_by().values_list("contact_id", flat=True).distinct()))
        else:
            ids = []
        if ids or segment.pk in pending:
            work.append((segment, ids))
    return _evaluate_all(work, context, pending)
