"""Executing due runs: each step at most once, under retries, crashes and two workers."""

import datetime
import threading

import pytest
from django.db import connection
from django.utils import timezone

from tests import factories
from tests.concurrency import postgresql_only
from tests.segment_helpers import segment
from wagtail_segments.campaigns.actions import Action
from wagtail_segments.campaigns.claims import claim_due_runs
from wagtail_segments.campaigns.executor import execute_run, resolve_unknown_step, run_due_steps
from wagtail_segments.campaigns.receivers import reach_goals
from wagtail_segments.campaigns.models import Run, StepLog

pytestmark = pytest.mark.django_db


def test_a_due_run_goes_through_its_steps_and_completes():
    campaign = factories.campaign()
    factories.chain(campaign, ("action", {"action": "add_tags", "tags": ["welcomed"]}),
                    ("action", {"action": "change_points", "points": 5}))
    contact = factories.contact()
    run = factories.run(campaign, contact)

    assert run_due_steps() == 1

    run.refresh_from_db()
    contact.refresh_from_db()
    assert run.state == Run.State.COMPLETED and run.finished_at is not None
    assert list(contact.tags.names()) == ["welcomed"]
    assert contact.points == 5
    assert list(run.logs.values_list("state", flat=True)) == ["done", "done"]


class CountedSend(Action):
    """Stands for an email: not transactional, so never repeated after a crash."""

    name = "test_counted_send"
    label = "Counted send"
    calls: list = []
    lock = threading.Lock()

    def execute(self, run, config):
        with self.lock:
            self.calls.append(run.pk)
        return {"sent": True}


class Explode(Action):
    name = "test_explode"
    label = "Always fails"

    def execute(self, run, config):
        raise ConnectionError("SMTP server went away")


@pytest.fixture(autouse=True)
def _no_sends():
    CountedSend.calls.clear()


def send_campaign(*after):
    campaign = factories.campaign()
    steps = factories.chain(campaign, ("action", {"action": "test_counted_send"}), *after)
    return campaign, steps


def test_running_the_engine_twice_over_the_same_due_runs_acts_once():
    campaign, _ = send_campaign(("action", {"action": "change_points", "points": 1}))
    runs = [factories.run(campaign, factories.contact()) for _ in range(5)]
    run_due_steps()
    run_due_steps()
    assert sorted(CountedSend.calls) == sorted(r.pk for r in runs)
    assert set(Run.objects.values_list("state", flat=True)) == {"completed"}
    assert set(Run.objects.values_list("contact__points", flat=True)) == {1}


def test_a_run_waiting_for_a_future_time_is_not_claimed_and_acts_once_due():
    campaign = factories.campaign()
    _wait, _send = factories.chain(campaign, ("wait", {"hours": 1}), ("action", {"action": "test_counted_send"}))
    run = factories.run(campaign, factories.contact(), state="waiting",
                        next_due_at=timezone.now() + datetime.timedelta(minutes=5))
    assert run_due_steps() == 0
    Run.objects.filter(pk=run.pk).update(next_due_at=timezone.now())
    assert run_due_steps() == 1
    assert CountedSend.calls == [run.pk]


def test_a_pause_holds_runs_a_worker_had_already_claimed():
    campaign, (send,) = send_campaign()
    run = factories.run(campaign, factories.contact())
    (claimed,) = claim_due_runs()
    campaign.status = "paused"
    campaign.save()
    execute_run(claimed, claimed.lease_owner)
    assert CountedSend.calls == []
    run.refresh_from_db()
    assert run.step_id == send.pk and run.is_live


def test_a_step_a_dead_worker_left_claimed_becomes_unknown_and_is_not_sent_again():
    campaign, (send, _after) = send_campaign(("action", {"action": "add_tags", "tags": ["x"]}))
    run = factories.run(campaign, factories.contact())
    # The dead worker: it claimed the run, logged the step and stopped before recording the outcome.
    claim_due_runs(lease_seconds=60)
    StepLog.objects.create(run=run, step=send, claimed_by="dead-worker")
    Run.objects.filter(pk=run.pk).update(lease_until=timezone.now() - datetime.timedelta(seconds=1))

    assert run_due_steps() == 1  # the sweeper takes the run over

    log = StepLog.objects.get(run=run, step=send)
    run.refresh_from_db()
    assert log.state == "unknown"
    assert CountedSend.calls == []
    assert (run.state, run.step_id, run.next_due_at) == ("active", send.pk, None)
    assert "unknown" in run.last_error
    assert run_due_steps() == 0  # held for a person, not retried

    assert resolve_unknown_step(log, acted=True)
    run_due_steps()
    run.refresh_from_db()
    assert run.state == "completed" and CountedSend.calls == []


def test_a_person_who_says_the_unknown_step_did_not_act_has_it_done_again():
    campaign, (send,) = send_campaign()
    run = factories.run(campaign, factories.contact())
    log = StepLog.objects.create(run=run, step=send, state="unknown")
    Run.objects.filter(pk=run.pk).update(next_due_at=None)
    assert resolve_unknown_step(log, acted=False)
    run_due_steps()
    assert CountedSend.calls == [run.pk]
    assert Run.objects.get(pk=run.pk).state == "completed"


def test_a_transactional_step_a_dead_worker_left_claimed_is_done_again_once():
    campaign = factories.campaign()
    points, = factories.chain(campaign, ("action", {"action": "change_points", "points": 10}))
    contact = factories.contact()
    run = factories.run(campaign, contact)
    # Its transaction rolled back with the worker: only the claimed log was committed.
    StepLog.objects.create(run=run, step=points, claimed_by="dead-worker")
    run_due_steps()
    contact.refresh_from_db()
    assert contact.points == 10
    assert StepLog.objects.get(run=run).state == "done"


def test_a_step_done_by_a_worker_that_died_before_moving_the_run_is_not_done_again():
    campaign, (send, _tag) = send_campaign(("action", {"action": "add_tags", "tags": ["after"]}))
    contact = factories.contact()
    run = factories.run(campaign, contact)
    StepLog.objects.create(run=run, step=send, state="done", claimed_by="dead-worker")
    run_due_steps()
    assert CountedSend.calls == []
    assert list(contact.tags.names()) == ["after"]
    assert Run.objects.get(pk=run.pk).state == "completed"


def test_a_paused_campaign_holds_its_runs_where_they_are():
    campaign, (send,) = send_campaign()
    run = factories.run(campaign, factories.contact())
    campaign.status = "paused"
    campaign.save()
    assert run_due_steps() == 0
    campaign.status = "active"
    campaign.save()
    assert run_due_steps() == 1
    assert CountedSend.calls == [run.pk]


def test_a_failing_action_is_retried_with_back_off_then_the_run_fails(settings):
    settings.WAGTAIL_SEGMENTS = {**settings.WAGTAIL_SEGMENTS, "CAMPAIGN_MAX_ATTEMPTS": 3, "CAMPAIGN_RETRY_SECONDS": 60}
    campaign = factories.campaign()
    failing, = factories.chain(campaign, ("action", {"action": "test_explode"}))
    run = factories.run(campaign, factories.contact())

    delays = []
    for _attempt in range(2):
        before = timezone.now()
        run_due_steps()
        run.refresh_from_db()
        assert run.state == "active" and run.lease_owner == ""
        delays.append(round((run.next_due_at - before).total_seconds() / 60))
        assert StepLog.objects.get(run=run).state == "failed"
        Run.objects.filter(pk=run.pk).update(next_due_at=timezone.now())
    run_due_steps()

    run.refresh_from_db()
    assert delays == [1, 2]
    assert (run.state, run.attempts, run.next_due_at) == ("failed", 3, None)
    assert run.last_error == "ConnectionError: SMTP server went away"
    assert StepLog.objects.get(run=run, step=failing).error == run.last_error


def test_a_goal_that_moves_the_run_first_wins_over_the_waits_timeout():
    customers = segment(kind="static", build=False)
    campaign = factories.campaign()
    factories.chain(campaign, ("wait", {"days": 1}), ("action", {"action": "test_counted_send"}))
    factories.step(campaign, "goal", segment=customers.pk)
    contact = factories.contact()
    run = factories.run(campaign, contact, state="waiting")

    owner = "worker-1"
    claimed, = claim_due_runs(owner=owner)  # the wait's timeout is being acted on...
    assert reach_goals(customers, [contact.pk]) == 1  # ...when the goal moves the run

    assert execute_run(claimed, owner) == "lost"
    run.refresh_from_db()
    assert run.state == "left"
    assert CountedSend.calls == []


def test_a_timeout_that_moves_the_run_first_wins_over_the_goal():
    customers = segment(kind="static", build=False)
    campaign = factories.campaign()
    factories.chain(campaign, ("wait", {"days": 1}), ("action", {"action": "test_counted_send"}))
    factories.step(campaign, "goal", segment=customers.pk)
    contact = factories.contact()
    run = factories.run(campaign, contact, state="waiting")

    run_due_steps()
    assert reach_goals(customers, [contact.pk]) == 0
    run.refresh_from_db()
    assert run.state == "completed" and CountedSend.calls == [run.pk]


def _drain_in_threads(workers: int, batch: int) -> None:
    barrier = threading.Barrier(workers)
    errors = []

    def work():
        try:
            barrier.wait(10)
            while run_due_steps(batch=batch):
                pass
        except Exception as error:  # shown below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_two_workers_over_300_due_runs_act_on_each_exactly_once():
    campaign, _ = send_campaign(("action", {"action": "change_points", "points": 1}))
    contacts = [factories.contact() for _ in range(300)]
    runs = [factories.run(campaign, c) for c in contacts]

    _drain_in_threads(workers=2, batch=10)

    assert sorted(CountedSend.calls) == sorted(r.pk for r in runs)  # none twice, none lost
    assert Run.objects.filter(state="completed").count() == 300
    assert StepLog.objects.filter(state="done").count() == 600
    assert set(Run.objects.values_list("contact__points", flat=True)) == {1}


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_goals_racing_timeouts_on_many_runs_leave_each_run_one_way():
    customers = segment(kind="static", build=False)
    campaign = factories.campaign()
    wait, send = factories.chain(campaign, ("wait", {"days": 1}), ("action", {"action": "test_counted_send"}))
    factories.step(campaign, "goal", segment=customers.pk)
    contacts = [factories.contact() for _ in range(200)]
    runs = {factories.run(campaign, c, state="waiting").pk: c.pk for c in contacts}
    barrier = threading.Barrier(2)

    def goals():
        barrier.wait(10)
        try:
            for contact_id in runs.values():
                reach_goals(customers, [contact_id])
        finally:
            connection.close()

    racer = threading.Thread(target=goals)
    racer.start()
    barrier.wait(10)
    while run_due_steps(batch=5):
        pass
    racer.join(60)

    states = dict(Run.objects.values_list("pk", "state"))
    assert set(states.values()) <= {"left", "completed"}
    assert len(CountedSend.calls) == len(set(CountedSend.calls))
    for run_id, state in states.items():
        goal_logged = StepLog.objects.filter(run_id=run_id, step__kind="goal").exists()
        assert goal_logged == (state == "left")  # the goal's move and the engine's never both win
        if state == "completed":
            assert run_id in CountedSend.calls


class HalfDone(Action):
    """A transactional action that writes, then fails: its write must not survive."""

    name = "test_half_done"
    label = "Half done"
    transactional = True

    def execute(self, run, config):
        from wagtail_segments.models import Contact

        Contact.objects.filter(pk=run.contact_id).update(points=99)
        raise ValueError("broke halfway")


def test_a_transactional_action_that_fails_halfway_leaves_nothing_behind():
    campaign = factories.campaign()
    factories.chain(campaign, ("action", {"action": "test_half_done"}))
    contact = factories.contact(points=1)
    run = factories.run(campaign, contact)
    run_due_steps()
    contact.refresh_from_db()
    run.refresh_from_db()
    assert contact.points == 1
    assert (run.state, run.attempts, run.last_error) == ("active", 1, "ValueError: broke halfway")
    assert StepLog.objects.get(run=run).state == "failed"
