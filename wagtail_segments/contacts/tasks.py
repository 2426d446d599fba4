"""Background work over contacts and events, run by django-q2 workers."""

from __future__ import annotations

import datetime
import logging
import time

from django.db import DatabaseError, transaction
from django.db.models import F, Max, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce, Greatest, NullIf
from django.utils import timezone

from wagtail_segments.conf import settings as conf

from wagtail_segments.signals import events_processed

from .models import Contact, Event, ProcessingPosition

logger = logging.getLogger(__name__)

PROCESS_BATCH = 5000
POSITION_NAME = "contacts.new_events"



def _process_batch(first_id: int, last_id: int) -> tuple[set[int], set[str]]:
    window = Event.objects.filter(id__gt=first_id, id__lte=last_id)
    # Events written through an old cookie of a merged-away contact join the survivor.
    for old, survivor in (
        window.filter(contact__merged_into__isnull=False)
        .values_list("contact_id", "contact__merged_into_id").distinct()
    ):
        window.filter(contact_id=old).update(contact_id=survivor)
    contact_ids = set(window.values_list("contact_id", flat=True).distinct())
    if not contact_ids:
        return contact_ids, set()
    kinds = set(window.order_by().values_list("kind", flat=True).distinct())
    newest = window.filter(contact_id=OuterRef("pk")).order_by().values("contact_id")
    latest_time = newest.annotate(t=Max("time")).values("t")
    latest_country = (
        window.filter(contact_id=OuterRef("pk")).exclude(country="").order_by("-id").values("country")[:1]
    )
    Contact.objects.filter(pk__in=contact_ids).update(
        # Coalesce: SQLite's MAX() of NULL and a time is NULL (PostgreSQL's GREATEST skips it).
        last_seen=Coalesce(Greatest(F("last_seen"), Subquery(latest_time)), Subquery(latest_time)),
        country=Coalesce(NullIf(Subquery(latest_country), Value("")), F("country")),
    )
    return contact_ids, kinds


def process_new_events(batch_size: int = PROCESS_BATCH) -> int:
    """Read the events written since the last pass; returns how many ids it advanced over.

    One pass runs at a time: the position row is locked, and a second worker that finds it
    locked leaves the work to the first.
    """
    current, _created = ProcessingPosition.objects.get_or_create(name=POSITION_NAME)
    newest = Event.objects.aggregate(m=Max("id"))["m"] or 0
    if current.position >= newest:
        return 0  # nothing new: no write transaction (SQLite would take its write lock)
    advanced = 0
    while True:
        with transaction.atomic():
            try:
                position = (
                    ProcessingPosition.objects.select_for_update(nowait=True).get(name=POSITION_NAME)
                )
            except DatabaseError:  # locked by another worker
                logger.info("Another worker is processing new events.")
                return advanced
            start = position.position
            if start >= newest:
                return advanced
            end = min(start + batch_size, newest)
            contact_ids, kinds = _process_batch(start, end)
            position.position = end
            position.save(update_fields=["position"])
            advanced += end - start
            if contact_ids:
                events_processed.send(
                    sender=Event, first_id=start, last_id=end, contact_ids=contact_ids, kinds=kinds
                )


def follow_new_events(seconds: float | None = None, interval: float = 1.0) -> int:
    """The pass a tracked request queues: read what is new, then keep looking every
    ``interval`` for ``seconds`` more (PROCESS_EVENTS_DELAY_SECONDS by default).

    A web process queues at most one pass per debounce window, so the rest of a visitor's
    burst (the second and third page a second later) arrives after the queued pass has read
    the first; without this it would wait for the next window's request or the minute
    schedule. Lingering costs a worker slot for a few seconds and two small queries a
    second; the schedule runs the plain pass, which does not linger."""
    seconds = conf.PROCESS_EVENTS_DELAY_SECONDS if seconds is None else seconds
    advanced = process_new_events()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(interval)
        advanced += process_new_events()
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
    stale = Contact.objects.anonymous().filter(last_seen__lt=cutoff).exclude(events__time__gte=cutoff).exclude(merged_into__last_seen__gte=cutoff)
    contacts = _delete_in_batches(stale, batch_size)
    logger.info("Retention pruned %s events and %s contacts", events, contacts)
    return {"events": events, "contacts": contacts}
