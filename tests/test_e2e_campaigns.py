"""The campaign engine under real django-q2 workers (tests/qcluster.py): a ``qcluster`` child
process on the test's own database, with the ORM broker and with Redis.

What a site owner would notice: a visitor who enters a segment gets the campaign's action
within seconds; a worker killed mid-action never makes a contact get it twice and loses no
run (the one in flight is held as "unknown" for a person); two workers on 1,000 due runs
act on each exactly once.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest

from tests import factories
from tests.concurrency import postgresql_only
from tests.qcluster import (Cluster, email_step, recorded_runs, running, shared_database, side_effect_step,
                            wait_until)
from tests.segment_helpers import rule, segment
from wagtail_segments.campaigns.models import Run, StepLog
from wagtail_segments.contacts.models import Contact

pytestmark = pytest.mark.django_db(transaction=True)


def visitor_campaign(action_step: tuple[str, dict]):
    """A page, a segment "viewed that page" and an active campaign entered by joining it,
    whose one step is ``action_step``."""
    page = factories.content_page("Pricing")
    viewed = segment(rule("page_views", target="path", path=page.url, window="last_days", days=30))
    campaign = factories.campaign(entry_segment=viewed)
    factories.chain(campaign, action_step)
    return page, campaign


@pytest.mark.parametrize("broker", ["orm", "redis"])
def test_a_visitor_entering_a_segment_gets_the_campaign_action_within_seconds(broker, tmp_path, browser_client):
    effects = tmp_path / "effects"
    page, campaign = visitor_campaign(side_effect_step(effects))
    with shared_database(tmp_path) as database, running(database, tmp_path, broker=broker) as cluster:
        started = time.monotonic()
        assert browser_client.get(page.url).status_code == 200
        (run_id,) = wait_until(lambda: recorded_runs(effects), 15, "the campaign's action", cluster=cluster)
        latency = time.monotonic() - started
        run = wait_until(lambda: Run.objects.filter(pk=run_id, state=Run.State.COMPLETED).first(), 5,
                         "the run to complete", cluster=cluster)
        assert run.campaign_id == campaign.pk and run.contact == Contact.objects.get()
        assert run.source == "segment"
    assert latency < 10, f"{latency:.1f}s from the page view to the action"
    print(f"page view to action: {latency:.2f}s")


def test_a_campaign_email_goes_out_through_smtp_from_the_worker(tmp_path, smtp_sink):
    contacts = [factories.contact(email=f"reader{n}@example.com", first_name=f"Reader {n}") for n in range(3)]
    campaign = factories.campaign()
    factories.chain(campaign, email_step(subject="Welcome aboard"))
    for contact in contacts:
        factories.run(campaign, contact)
    with shared_database(tmp_path) as database, running(database, tmp_path, smtp_port=smtp_sink.port) as cluster:
        cluster.wake_engine()
        received = smtp_sink.wait_for(3, timeout=15)
        wait_until(lambda: Run.objects.filter(state=Run.State.COMPLETED).count() == 3, 10, "runs", cluster=cluster)
        assert StepLog.objects.filter(state=StepLog.State.DONE).count() == 3
    assert sorted(message["To"] for message in received) == [c.email for c in contacts]
    assert sorted(message["Subject"] for message in received) == [f"Welcome aboard, Reader {n}" for n in range(3)]
    assert all(message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click" for message in received)


def held_or_done(count: int):
    """Every run has finished or is held (nothing left due), once ``count`` runs exist."""
    def check():
        return (Run.objects.count() == count
                and not Run.objects.live().filter(next_due_at__isnull=False).exists())
    return check


def acting_on_a_new_run(effects, after: int) -> int | None:
    """The run whose action has begun (its log claimed) and not yet acted, once ``after``
    runs have acted: killing the worker now kills it in the action's sleep."""
    recorded = recorded_runs(effects)
    if len(recorded) < after:
        return None
    claimed = StepLog.objects.filter(state=StepLog.State.CLAIMED).exclude(run_id__in=recorded)
    return claimed.values_list("run_id", flat=True).first()


@pytest.mark.parametrize("broker", ["orm", "redis"])
def test_a_worker_killed_mid_action_acts_on_no_run_twice_and_loses_none(broker, tmp_path):
    """SIGKILL to the whole cluster while an action is running (the step's log says "claimed"),
    then a new cluster: the runs not done yet are done once each, the one in flight is held as
    "unknown" (its action may or may not have happened; here it had not) for a person."""
    effects = tmp_path / "effects"
    campaign = factories.campaign()
    factories.chain(campaign, side_effect_step(effects, sleep=0.4))
    runs = [factories.run(campaign, factories.contact()).pk for _ in range(12)]
    # A short lease so the killed worker's runs are due again within the test.
    segments = {"CAMPAIGN_BATCH_SIZE": 3, "CAMPAIGN_LEASE_SECONDS": 3}
    with shared_database(tmp_path) as database:
        first = Cluster(database, tmp_path, broker=broker, segments=segments)
        with first.use_in_this_process():
            first.start()
            try:
                first.wake_engine()
                in_flight = wait_until(lambda: acting_on_a_new_run(effects, after=4), 15,
                                       "the worker to be acting on its fifth run", interval=0.01, cluster=first)
            finally:
                first.kill()
            assert list(StepLog.objects.filter(state=StepLog.State.CLAIMED).values_list("run_id", flat=True)) == [in_flight]
            done_before = len(recorded_runs(effects))

            second = Cluster(database, tmp_path, broker=broker, name=first.name, segments=segments)
            with second:
                second.wake_engine()
                wait_until(held_or_done(len(runs)), 20, "every run done or held", cluster=second)

        executions = Counter(recorded_runs(effects))
        states = dict(Run.objects.values_list("pk", "state"))
        held = Run.objects.get(pk=in_flight)
        unknown = list(StepLog.objects.filter(state=StepLog.State.UNKNOWN).values_list("run_id", flat=True))
        last_error = held.last_error
        completed = {pk for pk, state in states.items() if state == Run.State.COMPLETED}
    assert done_before < len(runs) - 1, "the kill came too late to leave work for the second cluster"
    assert max(executions.values()) == 1, f"a step acted twice: {executions}"
    assert unknown == [in_flight] and in_flight not in executions
    assert held.state == Run.State.ACTIVE and held.next_due_at is None and "unknown" in last_error
    assert completed == set(runs) - {in_flight} == set(executions), "a run was lost"


@postgresql_only
def test_two_clusters_on_a_thousand_due_runs_act_on_each_exactly_once(tmp_path):
    """Two qcluster processes (two workers each) take the engine's loop from one queue at once:
    claims with SKIP LOCKED never overlap, so each contact's side effect happens once."""
    effects = tmp_path / "effects"
    campaign = factories.campaign()
    factories.chain(campaign, side_effect_step(effects))
    first_step = campaign.first_step()
    contacts = Contact.objects.bulk_create([Contact(first_name=f"c{n}") for n in range(1000)])
    Run.objects.bulk_create([Run(campaign=campaign, contact=c, step=first_step, next_due_at=c.first_seen)
                             for c in contacts])
    segments = {"CAMPAIGN_BATCH_SIZE": 25}
    with shared_database(tmp_path) as database:
        one = Cluster(database, tmp_path, segments=segments)
        two = Cluster(database, tmp_path, name=one.name, segments=segments)
        with one.use_in_this_process(), one, two:
            from django_q.tasks import async_task

            for _ in range(4):  # as the minute schedule and entries would, several loops at once
                async_task("wagtail_segments.campaigns.tasks.run_due_campaign_steps")
            started = time.monotonic()
            wait_until(held_or_done(1000), 60, "every run done", interval=0.2, cluster=one)
            print(f"1,000 runs in {time.monotonic() - started:.1f}s")
        executions = Counter(recorded_runs(effects))
        completed = Run.objects.filter(state=Run.State.COMPLETED).count()
        owners = Counter(log.claimed_by.rsplit(":", 1)[0] for log in StepLog.objects.all())
    assert len(executions) == 1000 and max(executions.values()) == 1
    assert completed == 1000
    assert len(owners) >= 2, f"one process did all the work: {owners}"
