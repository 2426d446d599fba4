"""The failure pause: too many failed steps in an hour pause the campaign and mail its owner."""

import datetime

import pytest
from django.core import mail
from django.utils import timezone

from tests import factories
from tests.query_plans import query_plan
from wagtail_segments.campaigns.executor import run_due_steps
from wagtail_segments.campaigns.health import recent_failed_steps, recent_failures
from wagtail_segments.campaigns.models import Run, StepLog

pytestmark = pytest.mark.django_db


@pytest.fixture
def threshold(settings):
    settings.WAGTAIL_SEGMENTS = {**settings.WAGTAIL_SEGMENTS, "CAMPAIGN_FAILURE_PAUSE_THRESHOLD": 3}


def failing_campaign(**fields):
    """A campaign whose first step always fails (notify a group nobody is in)."""
    from django.contrib.auth.models import Group

    campaign = factories.campaign(name="Leaky <b>campaign</b>", **fields)
    factories.chain(campaign, ("action", {"action": "notify_staff", "group": Group.objects.create(name="Nobody").pk}))
    return campaign


def test_failures_past_the_threshold_pause_the_campaign_and_mail_the_owner(threshold, django_capture_on_commit_callbacks):
    owner = factories.staff_user("owner")
    campaign = failing_campaign(owner=owner)
    runs = [factories.run(campaign, factories.contact()) for _ in range(5)]

    run_due_steps(batch=3)  # three failures: at the threshold, not past it
    campaign.refresh_from_db()
    assert campaign.status == "active" and mail.outbox == []

    with django_capture_on_commit_callbacks(execute=True):
        run_due_steps(batch=1)  # the fourth passes it
    campaign.refresh_from_db()
    assert campaign.status == "paused" and campaign.paused_at is not None
    [email] = mail.outbox
    assert email.to == ["owner@example.com"] and email.subject == "Campaign paused: Leaky <b>campaign</b>"
    assert "4 steps failed in the last hour" in email.body and "Nobody to notify" in email.body
    assert "Leaky &lt;b&gt;campaign&lt;/b&gt;" in email.alternatives[0][0]

    # Runs are held, not failed: the fifth was never tried, the others wait for their retry.
    Run.objects.update(next_due_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        assert run_due_steps() == 0
    states = sorted(Run.objects.values_list("state", "attempts"))
    assert states == [("active", 0)] + [("active", 1)] * 4
    assert len(mail.outbox) == 1
    assert runs[4].pk == Run.objects.get(attempts=0).pk


def test_old_failures_and_a_zero_threshold_do_not_pause(settings, threshold):
    campaign = failing_campaign(owner=factories.staff_user())
    for _ in range(4):
        factories.run(campaign, factories.contact())
    run_due_steps(batch=3)
    StepLog.objects.update(finished_at=timezone.now() - datetime.timedelta(minutes=61))
    assert recent_failed_steps(campaign.pk) == 0
    run_due_steps(batch=1)
    campaign.refresh_from_db()
    assert campaign.status == "active" and recent_failed_steps(campaign.pk) == 1

    settings.WAGTAIL_SEGMENTS = {**settings.WAGTAIL_SEGMENTS, "CAMPAIGN_FAILURE_PAUSE_THRESHOLD": 0}
    Run.objects.update(next_due_at=timezone.now())
    run_due_steps()
    campaign.refresh_from_db()
    assert campaign.status == "active" and recent_failed_steps(campaign.pk) == 4


def test_a_campaign_without_an_owner_is_paused_all_the_same(threshold, django_capture_on_commit_callbacks):
    campaign = failing_campaign()
    for _ in range(4):
        factories.run(campaign, factories.contact())
    with django_capture_on_commit_callbacks(execute=True):
        run_due_steps()
    campaign.refresh_from_db()
    assert campaign.status == "paused" and mail.outbox == []


def test_counting_the_recent_failures_reads_only_the_index_of_failed_steps():
    campaign = failing_campaign()
    step = campaign.first_step()
    for n in range(3):
        run = factories.run(campaign, factories.contact())
        StepLog.objects.create(run=run, step=step, state="failed" if n else "done", finished_at=timezone.now())

    plan = query_plan(recent_failures(campaign.pk).values_list("pk", flat=True))

    assert "wsg_steplog_failed" in plan, plan
