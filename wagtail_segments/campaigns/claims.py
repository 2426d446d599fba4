"""Claiming due runs: a short transaction that leases a batch to one worker.

PostgreSQL: ``SELECT … FOR UPDATE SKIP LOCKED`` lets two workers take disjoint batches at
once. SQLite: Django drops the clause, and the immediate transaction serialises claims;
"database is locked" there is retried. The claim bumps each run's ``version``, so a worker
whose lease expired and was taken over loses every compare-and-set it tries afterwards.
A run whose lease has expired is due again: that is the sweeper.
"""

from __future__ import annotations

import datetime
import os
import socket
import time
import uuid

from django.db import OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone

from wagtail_segments.conf import settings as conf

from .models import Campaign, Run, Step

LOCKED_RETRIES = 5


def new_owner() -> str:
    """A lease owner token: which host and process, and which claim."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def claim_due_runs(batch: int | None = None, lease_seconds: float | None = None,
                   owner: str | None = None) -> list[Run]:
    """Lease up to ``batch`` due runs to ``owner`` (a new token by default) and return them."""
    batch = batch or conf.CAMPAIGN_BATCH_SIZE
    lease_seconds = lease_seconds or conf.CAMPAIGN_LEASE_SECONDS
    owner = owner or new_owner()
    for attempt in range(LOCKED_RETRIES):
        try:
            return _claim(batch, lease_seconds, owner)
        except OperationalError as error:
            if "locked" not in str(error).lower() or attempt == LOCKED_RETRIES - 1:
                raise
            time.sleep(0.05 * 2 ** attempt)
    return []


def _claim(batch: int, lease_seconds: float, owner: str) -> list[Run]:
    now = timezone.now()
    with transaction.atomic():
        due = Run.objects.due(now).order_by("next_due_at")
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True, of=("self",))
        ids = list(due.values_list("pk", flat=True)[:batch])
        if not ids:
            return []
        Run.objects.filter(pk__in=ids).update(
            lease_owner=owner, lease_until=now + datetime.timedelta(seconds=lease_seconds),
            version=F("version") + 1,
        )
    return with_campaigns_and_steps(list(
        Run.objects.filter(pk__in=ids, lease_owner=owner).select_related("contact").order_by("next_due_at", "pk")
    ))


def with_campaigns_and_steps(runs: list[Run]) -> list[Run]:
    """Give the runs their campaign and step, one instance of each for the whole batch (a
    batch's runs mostly share both: joining them built a copy per run, a third of the
    claim's cost)."""
    campaigns = Campaign.objects.in_bulk({run.campaign_id for run in runs})
    steps = Step.objects.in_bulk({run.step_id for run in runs if run.step_id is not None})
    for run in runs:
        run.campaign = campaigns[run.campaign_id]
        run.step = steps.get(run.step_id)
    return runs


def next_due_at():
    """When the earliest live run of an active campaign falls due (None: nothing waits)."""
    return (Run.objects.live().filter(campaign__status=Campaign.Status.ACTIVE, next_due_at__isnull=False)
            .order_by("next_due_at").values_list("next_due_at", flat=True).first())
