"""django-q2 tasks of the segments engine."""

from __future__ import annotations

import logging

from django.db import transaction

from .evaluation import evaluate_contacts, rebuild_in_isolation
from .history import record_daily_counts  # noqa: F401  (scheduled by name)
from .models import Segment

logger = logging.getLogger(__name__)


def rebuild_segment_by_id(segment_id: int) -> dict:
    segment = Segment.objects.filter(pk=segment_id).first()
    if segment is None:
        return {}
    outcome = rebuild_in_isolation(segment)
    return {"entered": outcome.entered, "left": outcome.left} if outcome else {"failed": True}


def rebuild_all_segments() -> dict[str, dict]:
    """The scheduled full rebuild: catches what time alone changes, and retries segments
    whose rules failed (a segment that fails again is marked, and the others go on)."""
    results = {}
    for segment in Segment.objects.active().dynamic():
        outcome = rebuild_in_isolation(segment)
        results[segment.slug] = {"entered": outcome.entered, "left": outcome.left} if outcome else {"failed": True}
    return results


def evaluate_contacts_task(contact_ids: list[int], reasons: list[str] | None = None) -> dict:
    outcome = evaluate_contacts(contact_ids, set(reasons) if reasons is not None else None)
    return {"entered": outcome.entered, "left": outcome.left}


def enqueue(func: str, *args, **kwargs) -> None:
    """Queue a task once the current transaction commits (django-q2 does not wait for it)."""
    from django_q.tasks import async_task

    transaction.on_commit(lambda: async_task(func, *args, group="wagtail_segments", **kwargs))
