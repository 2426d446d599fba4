"""Campaign timeliness through real django-q2 workers (tests/qcluster.py), on the run's database.

event_to_action: a visitor's page view (Django's test client, tracking on) → the pass over new
events → the segment "viewed this page" entered → the campaign's run → its action step done
(``StepLog.finished_at``), with the ORM broker and with Redis; one new visitor per sample, samples
spaced by a random 0–3 s (0–1.5 s with --quick) so that both a cold start (no pass lingering) and a view during a
lingering pass are measured. The action is ``ACTION`` below: one line to change.

wait_due_lag: runs standing on a wait step, due at known times while the engine runs; how late the
wait step is done. "loop": the loop woken once (as an entry wakes it), due times within its
CAMPAIGN_LOOP_SECONDS. "schedule" (full runs only: minutes of wall time): no wake-up at all, only
the one-minute schedule, due times spread over several minutes, so the gaps between loops count.

The example site's Q_CLUSTER (2 workers, poll 1 s) and the app's default settings throughout.
Only the app's schedules that the path needs are kept (process new events, campaign steps): the
scheduled full rebuild of 50 segments would otherwise start in the middle of the measurement.
"""

from __future__ import annotations

import datetime
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

from django.test import Client
from django.utils import timezone

from tests.qcluster import Cluster, REDIS_URL, wait_until
from tests.segment_helpers import rule

from .measure import BROWSER_UA, figure

KEPT_SCHEDULES = ("wagtail_segments: process new events", "wagtail_segments: campaign steps")


def action_step(effects: Path) -> dict:
    """The campaign's action (``send_email`` replaces it once messaging lands)."""
    return {"action": "e2e_record", "path": str(effects)}


def quantile(values: list[float], q: float) -> float:
    values = sorted(values)
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


def percentiles(name: str, seconds: list[float]) -> dict:
    return {f"{name}_{label}_s": figure(round(quantile(seconds, q), 3), "s", samples=len(seconds))
            for label, q in (("p50", 0.5), ("p95", 0.95))}


def redis_available() -> bool:
    try:
        import redis

        return bool(redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except Exception:  # noqa: BLE001  (no Redis: the Redis figure is left out, and says so)
        return False


def setup_campaign(effects: Path):
    """A new page nobody has viewed, a segment "viewed it in the last 30 days", an active campaign
    entered by joining it whose one step is the action."""
    from django_q.models import Schedule
    from wagtail.models import Page

    from example_site.pages.models import ContentPage
    from django.db.models import Max

    from wagtail_segments.campaigns.models import Campaign, Step
    from wagtail_segments.contacts.models import Event, ProcessingPosition
    from wagtail_segments.contacts.tasks import POSITION_NAME
    from wagtail_segments.segments.evaluation import rebuild_segment
    from wagtail_segments.segments.models import Segment

    Schedule.objects.exclude(name__in=KEPT_SCHEDULES).delete()
    # A running site's pass has caught up: the generated history is not news to it.
    last = Event.objects.aggregate(last=Max("pk"))["last"] or 0
    ProcessingPosition.objects.update_or_create(name=POSITION_NAME, defaults={"position": last, "gaps": []})
    home = Page.objects.get(depth=2)
    page = home.add_child(instance=ContentPage(title="Campaign bench", slug=f"campaign-bench-{os.getpid()}",
                                               body="<p>Hello</p>"))
    viewed = rule("page_views", target="path", path=page.url, window="last_days", days=30)
    segment = Segment.objects.create(name="Viewed the campaign page", slug=f"campaign-bench-{os.getpid()}",
                                     kind="dynamic", match="all", rules=[viewed])
    rebuild_segment(segment)
    campaign = Campaign.objects.create(name="Bench", status=Campaign.Status.ACTIVE, entry_segment=segment)
    Step.objects.create(campaign=campaign, kind="action", config=action_step(effects))
    return page, campaign


def event_to_action(cluster: Cluster, page, campaign, samples: int, spacing: float) -> list[float]:
    """Seconds from each new visitor's page view to its run's action step done."""
    from wagtail_segments.campaigns.models import StepLog
    from wagtail_segments.contacts.models import Contact

    latencies = []
    for _ in range(samples):
        visitor = Client(HTTP_USER_AGENT=BROWSER_UA)
        started = time.time()
        assert visitor.get(page.url).status_code == 200
        contact_id = Contact.objects.order_by("-pk").values_list("pk", flat=True).first()  # this visitor's
        done = StepLog.objects.filter(run__campaign=campaign, run__contact_id=contact_id, state=StepLog.State.DONE)
        log = wait_until(lambda: done.first(), 60, "the campaign's action after a page view", 0.02, cluster)
        latencies.append(log.finished_at.timestamp() - started)
        time.sleep(random.uniform(0, spacing))
    return latencies


def wait_lags(cluster: Cluster, runs: int, first_due: float, spread: float, wake: bool, effects: Path) -> list[float]:
    """Runs on a wait step falling due from ``first_due`` s from now over ``spread`` s; seconds
    between each one's due time and its wait step done. ``wake``: the engine's loop is queued
    once now (as an entry does); else only the minute schedule starts it."""
    from django_q.models import Schedule

    from wagtail_segments.campaigns.models import Campaign, Run, Step, StepLog
    from wagtail_segments.campaigns.wakeup import wake_engine
    from wagtail_segments.contacts.models import Contact

    campaign = Campaign.objects.create(name=f"Waits {time.time()}", status=Campaign.Status.ACTIVE)
    wait = Step.objects.create(campaign=campaign, kind="wait", config={"days": 1})
    Step.objects.create(campaign=campaign, kind="action", parent=wait, config=action_step(effects))
    now = timezone.now()
    dues = sorted(now + datetime.timedelta(seconds=first_due + random.uniform(0, spread)) for _ in range(runs))
    contacts = Contact.objects.bulk_create([Contact(first_name=f"wait {n}") for n in range(runs)])
    made = Run.objects.bulk_create([
        Run(campaign=campaign, contact=contact, step=wait, state=Run.State.WAITING, next_due_at=due,
            reached_step_at=now, entered_at=now) for contact, due in zip(contacts, dues)
    ])
    due_of = {run.pk: due for run, due in zip(made, dues)}
    if wake:
        wake_engine()
    else:
        Schedule.objects.filter(name="wagtail_segments: campaign steps").update(next_run=now)
    logs = StepLog.objects.filter(step=wait, state=StepLog.State.DONE)
    wait_until(lambda: logs.count() == runs, first_due + spread + 120, "wait done for every run", 0.02, cluster)
    return [(log.finished_at - due_of[log.run_id]).total_seconds() for log in logs]


def brokers() -> list[str]:
    return ["orm", "redis"] if redis_available() else ["orm"]


def timeliness(meta: dict, reps: int, quick: bool) -> dict:
    """Every figure of this module, each broker's cluster started and stopped in turn."""
    from django.db import connections

    workdir = Path(tempfile.mkdtemp(prefix="wsg_bench_campaigns_"))
    effects = workdir / "effects"
    database = os.environ["WSG_BENCH_DATABASE"]
    samples = 5 if quick else max(20, 4 * reps)
    figures = {}
    page, campaign = setup_campaign(effects)
    for broker in brokers():
        cluster = Cluster(database, workdir, broker=broker)
        with cluster.use_in_this_process():
            connections.close_all()
            cluster.start()
            try:
                cluster.wake_engine()  # its first loop finds nothing and ends: as on a running site
                lat = event_to_action(cluster, page, campaign, samples, 1.5 if quick else 3)
                figures.update(percentiles(f"event_to_action_{broker}", lat))
                if broker == "orm":
                    lags = wait_lags(cluster, 10 if quick else 40, 2, 5 if quick else 40, True, effects)
                    figures.update(percentiles("wait_due_lag", lags))
                    if not quick:
                        lags = wait_lags(cluster, 40, 70, 180, False, effects)
                        figures.update(percentiles("wait_due_lag_schedule", lags))
            finally:
                cluster.kill()  # the database is dropped next: no need to wait for lingering tasks
    if "event_to_action_redis_p95_s" not in figures:
        figures["event_to_action_redis_p95_s"] = figure("no Redis", "")
    return figures
