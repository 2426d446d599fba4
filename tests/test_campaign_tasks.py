"""The engine's task: a loop started every minute (and by entries) that acts on due runs."""

import datetime

import pytest
from django.utils import timezone

from tests import factories
from wagtail_segments.campaigns.tasks import run_due_campaign_steps
from wagtail_segments.campaigns.wakeup import QUEUED_ENGINE
from wagtail_segments.contacts import queued
from wagtail_segments.models import Run
from wagtail_segments.schedules import ensure_schedules

pytestmark = pytest.mark.django_db


def test_the_loop_acts_on_a_wait_that_falls_due_while_it_runs():
    campaign = factories.campaign()
    factories.chain(campaign, ("wait", {"minutes": 1}), ("action", {"action": "add_tags", "tags": ["late"]}))
    contact = factories.contact()
    soon = factories.run(campaign, contact, state="waiting",
                         next_due_at=timezone.now() + datetime.timedelta(seconds=0.5))
    later = factories.run(campaign, factories.contact(), state="waiting",
                          next_due_at=timezone.now() + datetime.timedelta(minutes=10))

    run_due_campaign_steps(seconds=5, interval=0.1)

    assert Run.objects.get(pk=soon.pk).state == "completed"
    assert list(contact.tags.names()) == ["late"]
    assert Run.objects.get(pk=later.pk).state == "waiting"


def test_the_loop_returns_at_once_when_nothing_falls_due_within_it():
    started = timezone.now()
    assert run_due_campaign_steps(seconds=30, interval=0.1) == 0
    assert (timezone.now() - started).total_seconds() < 5


def test_the_loop_frees_the_queued_flag_as_it_starts_so_new_entries_can_wake_it_again():
    assert queued.claim(QUEUED_ENGINE, stale_after=300)
    run_due_campaign_steps(seconds=0)
    assert queued.claim(QUEUED_ENGINE, stale_after=300)


def test_a_burst_of_entries_queues_the_engine_once(monkeypatch, django_capture_on_commit_callbacks):
    calls = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda func, *args, **kwargs: calls.append(func))
    from wagtail_segments.campaigns.entry import enrol

    campaign = factories.campaign()
    factories.chain(campaign, ("wait", {"days": 1}))
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            enrol(campaign, [factories.contact()])
    assert calls == ["wagtail_segments.campaigns.tasks.run_due_campaign_steps"]


def test_the_minute_schedule_starts_the_loop():
    from django_q.models import Schedule

    ensure_schedules()
    schedule = Schedule.objects.get(func="wagtail_segments.campaigns.tasks.run_due_campaign_steps")
    assert (schedule.schedule_type, schedule.minutes, schedule.repeats) == ("I", 1, -1)
