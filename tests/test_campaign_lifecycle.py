"""Activating, pausing, resuming and finishing a campaign."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from tests import factories
from wagtail_segments.campaigns.executor import run_due_steps
from wagtail_segments.campaigns.lifecycle import activate, finish, pause, resume
from wagtail_segments.campaigns.models import Campaign

pytestmark = pytest.mark.django_db


def test_activation_refuses_a_tree_that_cannot_run_with_the_problems():
    campaign = factories.campaign(status="draft")
    factories.step(campaign, "wait", name="Forever?")
    with pytest.raises(ValidationError) as refused:
        activate(campaign)
    assert "Forever?" in str(refused.value)
    campaign.refresh_from_db()
    assert (campaign.status, campaign.activated_at) == ("draft", None)


def test_activation_records_when_and_who(django_user_model):
    editor = django_user_model.objects.create(username="editor")
    campaign = factories.campaign(status="draft")
    factories.chain(campaign, ("wait", {"days": 1}))
    assert activate(campaign, user=editor) == 0
    campaign.refresh_from_db()
    assert campaign.status == "active" and campaign.activated_at is not None and campaign.owner == editor


def paused_campaign(minutes_ago: int):
    campaign = factories.campaign()
    factories.chain(campaign, ("wait", {"hours": 1}), ("action", {"action": "change_points", "points": 1}))
    pause(campaign)
    Campaign.objects.filter(pk=campaign.pk).update(paused_at=timezone.now() - datetime.timedelta(minutes=minutes_ago))
    campaign.refresh_from_db()
    return campaign


def test_a_paused_campaign_holds_its_runs():
    campaign = paused_campaign(0)
    factories.run(campaign, factories.contact())
    assert run_due_steps() == 0


def test_resuming_moves_what_fell_due_during_the_pause_later_by_the_pause():
    campaign = paused_campaign(60)  # paused an hour ago
    now = timezone.now()
    due = {minutes: factories.run(campaign, factories.contact(), state="waiting",
                                  next_due_at=now - datetime.timedelta(minutes=minutes))
           for minutes in (50, 10, 90)}  # 50 and 10 minutes ago fell due in the pause; 90 was due before it

    assert resume(campaign) == 2

    for run in due.values():
        run.refresh_from_db()
    assert now + datetime.timedelta(minutes=9) < due[50].next_due_at < now + datetime.timedelta(minutes=11)
    assert now + datetime.timedelta(minutes=49) < due[10].next_due_at < now + datetime.timedelta(minutes=51)
    assert due[90].next_due_at < now  # a backlog from before the pause is due at once
    assert run_due_steps() == 1
    assert Campaign.objects.get(pk=campaign.pk).status == "active"


def test_resuming_with_catch_up_sends_everything_that_fell_due():
    campaign = paused_campaign(60)
    runs = [factories.run(campaign, factories.contact(), state="waiting",
                          next_due_at=timezone.now() - datetime.timedelta(minutes=m)) for m in (5, 30)]
    assert resume(campaign, catch_up=True) == 0
    assert run_due_steps() == len(runs)


def test_a_finished_campaign_takes_no_one_and_holds_its_runs():
    from wagtail_segments.campaigns.entry import enrol

    campaign = factories.campaign()
    factories.chain(campaign, ("wait", {"hours": 1}))
    factories.run(campaign, factories.contact())
    finish(campaign)
    assert enrol(campaign, [factories.contact()]) == 0
    assert run_due_steps() == 0
    with pytest.raises(ValidationError):
        resume(campaign)
    with pytest.raises(ValidationError):
        pause(campaign)
