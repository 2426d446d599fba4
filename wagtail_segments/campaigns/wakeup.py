"""Waking the engine: a task queued once the transaction commits, at most one at a time.

The engine does not depend on it (the minute schedule starts it anyway); it only makes a new
entry or a goal act within seconds. The "queued" flag (contacts/queued.py) keeps a burst of
entries from queueing a task each; the task clears it as it starts.
"""

from __future__ import annotations

from django.db import transaction

from wagtail_segments.conf import settings as conf
from wagtail_segments.contacts import queued

QUEUED_ENGINE = "campaigns.run_due_campaign_steps"


def wake_engine() -> None:
    def queue():
        if queued.claim(QUEUED_ENGINE, stale_after=conf.CAMPAIGN_LEASE_SECONDS):
            from django_q.tasks import async_task

            try:
                async_task("wagtail_segments.campaigns.tasks.run_due_campaign_steps", group="wagtail_segments")
            except Exception:
                queued.release(QUEUED_ENGINE)
                raise

    transaction.on_commit(queue)
