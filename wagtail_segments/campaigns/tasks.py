"""django-q2 tasks of the campaign engine. Tasks only wake it: runs are the truth."""

from __future__ import annotations

import time

from django.utils import timezone

from wagtail_segments.conf import settings as conf
from wagtail_segments.contacts import queued

from .claims import next_due_at
from .executor import run_due_steps
from .wakeup import QUEUED_ENGINE


def run_due_campaign_steps(seconds: float | None = None, interval: float = 1.0) -> int:
    """Act on due runs, then keep looking every ``interval`` while a run falls due within
    ``seconds`` (CAMPAIGN_LOOP_SECONDS): the one-minute schedule starts this loop, and an
    entry queues it, so a wait that comes due is acted on within about a second.

    Two loops at once are safe (claims never overlap), only wasteful; the returned number is
    how many runs this loop claimed.
    """
    queued.release(QUEUED_ENGINE)
    seconds = conf.CAMPAIGN_LOOP_SECONDS if seconds is None else seconds
    deadline = time.monotonic() + seconds
    claimed = 0
    while True:
        done = run_due_steps()
        claimed += done
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return claimed
        if done:
            continue
        due = next_due_at()
        if due is None or (due - timezone.now()).total_seconds() > remaining:
            return claimed
        time.sleep(interval)
