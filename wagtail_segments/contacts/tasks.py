"""Background work over contacts and events, run by django-q2 workers."""

from __future__ import annotations

import datetime
import logging
import time
from dataclasses import dataclass

from django.db import DatabaseError, transaction
from django.db.models import F, Max, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce, Greatest, NullIf
from django.utils import timezone

from wagtail_segments.conf import settings as conf
from wagtail_segments.signals import events_processed

from . import queued
from .models import Contact, Event, ProcessingPosition, visit_kinds

logger = logging.getLogger(__name__)

PROCESS_BATCH = 5000
POSITION_NAME = "contacts.new_events"
# The flag that says a pass is queued and not yet started (contacts/queued.py).
QUEUED_PASS = "contacts.follow_new_events"
# The most gaps the position keeps: normally a handful (transactions still open, rolled-back
# inserts); past this the lowest, oldest ones go first.
MAX_GAPS = 1000


@dataclass
class Batch:
    """The events one step of the pass reads: ids above the position, less the ones not yet
    committed (``holes``), plus earlier gaps that have appeared since (``found``)."""

    start: int
    end: int
    holes: list[int]
    found: list[int]
    more: bool  # a full batch was read: there may be more above it

    def events(self):
        """The batch's events: the same rows whenever asked (ids are never reused)."""
        window = Q(id__gt=self.start, id__lte=self.end)
        if self.holes:
            window &= ~Q(id__in=self.holes)
        return Event.objects.filter(window | Q(id__in=self.found) if self.found else window)


def _holes(after: int, ids: list[int], room: int) -> list[int]:
    """The ids between ``after`` and ``ids[-1]`` missing from ``ids`` (ascending), at most
    ``room`` of them, the newest kept: a huge jump (a fresh position, a sequence that skipped
    ahead) must not become a huge list."""
    missing: list[int] = []
    bounds = [after, *ids]
    for i in range(len(bounds) - 1, 0, -1):
        take = min(bounds[i] - bounds[i - 1] - 1, room - len(missing))
        if take > 0:
            missing.extend(range(bounds[i] - 1, bounds[i] - 1 - take, -1))
        if len(missing) >= room:
            break
    return sorted(missing)


def _gaps_to_keep(gaps: dict[int, float], now: float) -> dict[int, float]:
    """Gaps younger than PROCESS_EVENTS_GAP_SECONDS, at most MAX_GAPS: an id older than that
    was a rolled-back insert (it will never appear) or a transaction the pass gives up on."""
    limit = conf.PROCESS_EVENTS_GAP_SECONDS
    kept = {gid: noticed for gid, noticed in gaps.items() if now - noticed <= limit}
    if len(kept) < len(gaps):
        logger.info("The pass gave up waiting for %s event ids.", len(gaps) - len(kept))
    if len(kept) > MAX_GAPS:
        logger.warning("More than %s events not yet committed; the oldest are given up.", MAX_GAPS)
        kept = dict(sorted(kept.items())[-MAX_GAPS:])
    return kept


def _next_batch(position: ProcessingPosition, batch_size: int) -> tuple[Batch, dict[int, float]] | None:
    """What the next step reads and the gaps it leaves; None when there is nothing to do."""
    gaps = {int(gid): noticed for gid, noticed in position.gaps}
    ids = list(
        Event.objects.filter(id__gt=position.position).order_by("id").values_list("id", flat=True)[:batch_size]
    )
    found = sorted(Event.objects.filter(id__in=list(gaps)).values_list("id", flat=True)) if gaps else []
    now = time.time()
    for gid in found:
        del gaps[gid]
    holes = _holes(position.position, ids, MAX_GAPS)
    kept = _gaps_to_keep({**gaps, **{hole: now for hole in holes}}, now)
    if not ids and not found and kept.keys() == gaps.keys():
        return None
    end = ids[-1] if ids else position.position
    batch = Batch(start=position.position, end=end, holes=holes, found=found, more=len(ids) == batch_size)
    return batch, kept


def _process_batch(events) -> tuple[set[int], set[str]]:
    # Events written through an old cookie of a merged-away contact join the survivor.
    for old, survivor in (
        events.filter(contact__merged_into__isnull=False)
        .values_list("contact_id", "contact__merged_into_id").distinct()
    ):
        events.filter(contact_id=old).update(contact_id=survivor)
    contact_ids = set(events.values_list("contact_id", flat=True).distinct())
    if not contact_ids:
        return contact_ids, set()
    kinds = set(events.order_by().values_list("kind", flat=True).distinct())
    # Only the visitor's own events say when it was last seen, and from where.
    visits = events.filter(kind__in=visit_kinds())
    newest = visits.filter(contact_id=OuterRef("pk")).order_by().values("contact_id")
    latest_time = newest.annotate(t=Max("time")).values("t")
    latest_country = (
        visits.filter(contact_id=OuterRef("pk")).exclude(country="").order_by("-id").values("country")[:1]
    )
    Contact.objects.filter(pk__in=visits.values("contact_id")).update(
        # Coalesce: SQLite's MAX() of NULL and a time is NULL (PostgreSQL's GREATEST skips it).
        last_seen=Coalesce(Greatest(F("last_seen"), Subquery(latest_time)), Subquery(latest_time)),
        country=Coalesce(NullIf(Subquery(latest_country), Value("")), F("country")),
    )
    return contact_ids, kinds


def _has_news(position: ProcessingPosition) -> bool:
    """Anything for the pass to do, found with reads only (SQLite: no write lock taken)."""
    if Event.objects.filter(id__gt=position.position).exists():
        return True
    if not position.gaps:
        return False
    oldest = min(noticed for _gid, noticed in position.gaps)
    return (
        time.time() - oldest > conf.PROCESS_EVENTS_GAP_SECONDS
        or Event.objects.filter(id__in=[gid for gid, _noticed in position.gaps]).exists()
    )


def _read_new_events(batch_size: int) -> tuple[int, bool]:
    """The pass: how many events it processed, and whether another worker holds it."""
    current, _created = ProcessingPosition.objects.get_or_create(name=POSITION_NAME)
    if not _has_news(current):
        return 0, False  # nothing new: no write transaction (SQLite would take its write lock)
    processed = 0
    while True:
        with transaction.atomic():
            try:
                position = (
                    ProcessingPosition.objects.select_for_update(nowait=True).get(name=POSITION_NAME)
                )
            except DatabaseError:  # locked by another worker
                logger.info("Another worker is processing new events.")
                return processed, True
            step = _next_batch(position, batch_size)
            if step is None:
                return processed, False
            batch, gaps = step
            events = batch.events()
            contact_ids, kinds = _process_batch(events)
            processed += events.count()
            position.position = batch.end
            position.gaps = [[gid, noticed] for gid, noticed in sorted(gaps.items())]
            position.save(update_fields=["position", "gaps"])
        # After the commit: the position and last seen have moved whatever a receiver does.
        if contact_ids:
            _announce(events, contact_ids, kinds)
        if not batch.more:
            return processed, False


def _announce(events, contact_ids: set[int], kinds: set[str]) -> None:
    """Send ``events_processed``; a receiver that fails is logged and does not stop the pass."""
    for receiver, result in events_processed.send_robust(
        sender=Event, events=events, contact_ids=contact_ids, kinds=kinds
    ):
        if isinstance(result, Exception):
            logger.error("A receiver of events_processed failed: %r", receiver, exc_info=result)


def process_new_events(batch_size: int = PROCESS_BATCH) -> int:
    """Read the events committed since the last pass; returns how many it processed.

    Each event is processed once, however late its transaction commits: ids the pass
    stepped over before they were committed are kept as gaps and read when they appear
    (docs/architecture.md). One pass runs at a time: the position row is locked, and a
    second worker that finds it locked leaves the work to the first.
    """
    return _read_new_events(batch_size)[0]


# The longest one pass keeps following a busy site (well under any sane Q_CLUSTER timeout);
# the next request's kick queues the next pass.
FOLLOW_MAX_SECONDS = 60


def follow_new_events(seconds: float | None = None, interval: float = 1.0) -> int:
    """The pass a tracked request queues: read what is new, then keep looking every
    ``interval`` until ``seconds`` (PROCESS_EVENTS_DELAY_SECONDS by default) pass with
    nothing new, at most FOLLOW_MAX_SECONDS in all.

    A web process queues it only when no pass is queued or running (contacts/queued.py),
    and at most once per PROCESS_EVENTS_DELAY_SECONDS (recorder.py): the flag a request
    claimed stays taken while this pass lingers, so at most one lingering pass exists
    across every process and host. A request that finds the flag taken queues nothing and
    its process then queues nothing for the next few seconds, so its event and those just
    after it must be read by this pass: hence the pass lingers ``seconds`` after the last
    new event it read, not after its first read (measured: a lone visitor's second view
    then waited for the minute schedule, up to 60 s, tests/benchmarks/campaigns.py). It is
    released at the end and followed by one last read; if that read finds events (their
    requests may have found the flag still taken) the pass takes the flag again and goes
    on, unless another pass was queued meanwhile. Nothing falls between. When another
    worker holds the pass, this one returns at once.
    """
    seconds = conf.PROCESS_EVENTS_DELAY_SECONDS if seconds is None else seconds
    started = time.monotonic()
    advanced = 0
    while True:
        try:
            more, busy = _read_new_events(PROCESS_BATCH)
            advanced += more
            deadline = min(time.monotonic() + seconds, started + FOLLOW_MAX_SECONDS)
            while not busy and time.monotonic() < deadline:
                time.sleep(interval)
                more, busy = _read_new_events(PROCESS_BATCH)
                advanced += more
                if more:
                    deadline = min(time.monotonic() + seconds, started + FOLLOW_MAX_SECONDS)
        finally:
            queued.release(QUEUED_PASS)
        if busy:
            return advanced
        more = _read_new_events(PROCESS_BATCH)[0]
        advanced += more
        if (not more or time.monotonic() >= started + FOLLOW_MAX_SECONDS
                or not queued.claim(QUEUED_PASS, conf.PROCESS_EVENTS_REQUEUE_SECONDS)):
            return advanced


def _delete_in_batches(queryset, batch_size: int) -> int:
    deleted = 0
    while True:
        ids = list(queryset.order_by().values_list("pk", flat=True)[:batch_size])
        if not ids:
            return deleted
        queryset.model.objects.filter(pk__in=ids).delete()
        deleted += len(ids)


def prune_old_data(days: int | None = None, batch_size: int | None = None) -> dict[str, int]:
    """Delete events older than RETENTION_DAYS, and anonymous contacts (no email, no user)
    with no activity for as long. Known contacts are kept; only their old events go. A
    merged-away row stays while the contact it points to is active: cookies still name it."""
    days = conf.RETENTION_DAYS if days is None else days
    batch_size = batch_size or conf.RETENTION_BATCH_SIZE
    cutoff = timezone.now() - datetime.timedelta(days=days)
    events = _delete_in_batches(Event.objects.filter(time__lt=cutoff), batch_size)
    # A contact never seen (created by code, no visit) counts from when it was created.
    inactive = Q(last_seen__lt=cutoff) | Q(last_seen__isnull=True, first_seen__lt=cutoff)
    stale = (
        Contact.objects.anonymous().filter(inactive)
        .exclude(events__time__gte=cutoff).exclude(merged_into__last_seen__gte=cutoff)
    )
    contacts = _delete_in_batches(stale, batch_size)
    logger.info("Retention pruned %s events and %s contacts", events, contacts)
    return {"events": events, "contacts": contacts}
