"""Queueing the pass over new events: debounced per process, single-flight across processes.

Anything that writes events a segment or a campaign decision may be waiting for (a tracked
request, an email opened or clicked, a provider's report) calls ``schedule_event_processing``
so that the news moves segments and runs within seconds, not at the next minute's schedule.
"""

from __future__ import annotations

import contextlib
import logging
import time as monotonic_time

from django.db import DatabaseError, transaction

from wagtail_segments.conf import settings as conf

from . import queued
from .tasks import QUEUED_PASS

logger = logging.getLogger(__name__)
_last_kick = float("-inf")


def reset_debounce() -> None:
    """Forget this process's debounce state, as in a new web process."""
    global _last_kick
    _last_kick = float("-inf")


def schedule_event_processing(event_id: int | None = None) -> None:
    """Queue the pass over new events, at most once per PROCESS_EVENTS_DELAY_SECONDS per
    process, and only when no pass is queued already by any process on any host (a flag
    row, claimed once the request's transaction has committed): a stopped or busy worker
    finds one queued pass, not one per window and process.

    The pass (``contacts.tasks.follow_new_events``, which lingers a few seconds for the rest
    of the burst) moves last-seen forward and lets segments re-evaluate the contacts it saw;
    the request itself writes nothing else but, once per window, that flag.
    """
    global _last_kick
    now = monotonic_time.monotonic()
    if now - _last_kick < conf.PROCESS_EVENTS_DELAY_SECONDS:
        return
    _last_kick = now
    # After commit: outside a site's ATOMIC_REQUESTS transaction, so no row lock is held
    # through the rest of a request, and a rolled-back request queues nothing.
    transaction.on_commit(_enqueue_processing)


def _enqueue_processing() -> None:
    """Claim the flag and queue the pass; give the flag back when the broker fails (the next
    window may try again; the minute schedule catches up meanwhile)."""
    from django_q.tasks import async_task

    try:
        if not queued.claim(QUEUED_PASS, conf.PROCESS_EVENTS_REQUEUE_SECONDS):
            return
    except DatabaseError:  # never fail the visitor's page for this; the schedule catches up
        logger.exception("Could not claim the queued pass over new events.")
        return
    try:
        async_task(
            "wagtail_segments.contacts.tasks.follow_new_events",
            task_name="wagtail_segments.follow_new_events",
            group="wagtail_segments",
        )
    except Exception:  # a broker outage must not fail the visitor's page; the schedule catches up
        logger.exception("Could not queue the pass over new events.")
        with contextlib.suppress(DatabaseError):
            queued.release(QUEUED_PASS)
