"""Single-flight flags: "this task is queued", shared by every process on every host.

A web process cannot see another's memory, and a site's cache may be per process, so the one
place all of them agree on is a database row. Claiming is one conditional UPDATE (no lock
held afterwards, no read-then-write race); the task releases the flag when it is done, and
reads once more after the release, so that nothing committed in between is left waiting. A claim older than
``stale_after`` seconds is taken over: a task lost by its broker (a worker killed with Redis)
must not block the flag for ever.
"""

from __future__ import annotations

import datetime

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from .models import QueuedTask


def claim(name: str, stale_after: float) -> bool:
    """Mark ``name`` as queued; False when it already is (and the claim is not stale)."""
    now = timezone.now()
    free = Q(queued_at__isnull=True) | Q(queued_at__lt=now - datetime.timedelta(seconds=stale_after))
    if QueuedTask.objects.filter(free, name=name).update(queued_at=now):
        return True
    if QueuedTask.objects.filter(name=name).exists():
        return False
    try:
        with transaction.atomic():
            QueuedTask.objects.create(name=name, queued_at=now)
    except IntegrityError:  # another process created it first: its claim
        return False
    return True


def release(name: str) -> None:
    """Clear the flag: the task has started (or could not be queued after all)."""
    QueuedTask.objects.filter(name=name, queued_at__isnull=False).update(queued_at=None)
