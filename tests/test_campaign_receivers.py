"""Goals end runs wherever they are; merges keep the run that is further along."""

import pytest

from tests import factories
from tests.segment_helpers import segment
from wagtail_segments.campaigns.executor import run_due_steps
from wagtail_segments.campaigns.models import Run, StepLog
from wagtail_segments.contacts.identity import merge_contacts
from wagtail_segments.segments.manual import add_contacts

pytestmark = pytest.mark.django_db


def test_entering_the_goal_segment_ends_the_run_mid_wait(django_capture_on_commit_callbacks):
    customers = segment(kind="static", build=False)
    campaign = factories.campaign()
    factories.chain(campaign, ("wait", {"days": 3}), ("action", {"action": "add_tags", "tags": ["nurtured"]}))
    goal = factories.step(campaign, "goal", name="Bought", segment=customers.pk)
    buyer, other = factories.contact(), factories.contact()
    bought, waiting = factories.run(campaign, buyer, state="waiting"), factories.run(campaign, other, state="waiting")

    with django_capture_on_commit_callbacks(execute=True):
        add_contacts(customers, [buyer])

    bought.refresh_from_db()
    waiting.refresh_from_db()
    assert (bought.state, bought.next_due_at, bought.finished_at is not None) == ("left", None, True)
    assert waiting.state == "waiting"
    assert StepLog.objects.get(run=bought).step == goal
    run_due_steps()
    assert not buyer.tags.exists()


def test_a_goal_is_reached_by_a_segments_first_build_too():
    from wagtail_segments.campaigns.receivers import on_segment_entered

    customers = segment(kind="static", build=False)
    campaign = factories.campaign(entry_segment=customers)
    factories.chain(campaign, ("wait", {"days": 3}))
    factories.step(campaign, "goal", segment=customers.pk)
    contact = factories.contact()
    run = factories.run(campaign, contact, state="waiting")
    on_segment_entered(None, segment=customers, contact_ids=[contact.pk], source="rule", initial=True)
    run.refresh_from_db()
    assert run.state == "left"
    assert Run.objects.filter(campaign=campaign).count() == 1  # and the initial entry did not enrol


def test_a_merge_keeps_the_run_further_along_and_ends_the_other_as_merged():
    campaign = factories.campaign()
    first, second, _third = factories.chain(
        campaign, ("action", {"action": "add_tags", "tags": ["a"]}), ("action", {"action": "add_tags", "tags": ["b"]}),
        ("wait", {"days": 5}),
    )
    survivor, merged_away = factories.contact(email="kim@example.com"), factories.contact()
    behind = factories.run(campaign, survivor, step=second)
    StepLog.objects.create(run=behind, step=first, state="done")
    ahead = factories.run(campaign, merged_away, step=_third, state="waiting")
    StepLog.objects.create(run=ahead, step=first, state="done")
    StepLog.objects.create(run=ahead, step=second, state="done")

    merge_contacts(merged_away, survivor)

    behind.refresh_from_db()
    ahead.refresh_from_db()
    assert (ahead.contact_id, ahead.state) == (survivor.pk, "waiting")
    assert (behind.contact_id, behind.state) == (survivor.pk, "merged")
    assert behind.logs.count() == 1


def test_on_a_tie_the_survivor_keeps_its_own_run_and_a_lone_run_moves_over():
    campaign, other_campaign = factories.campaign(), factories.campaign()
    factories.chain(campaign, ("wait", {"days": 1}))
    factories.chain(other_campaign, ("wait", {"days": 1}))
    survivor, merged_away = factories.contact(email="lee@example.com"), factories.contact()
    own, theirs = factories.run(campaign, survivor), factories.run(campaign, merged_away)
    lone = factories.run(other_campaign, merged_away)

    merge_contacts(merged_away, survivor)

    assert Run.objects.get(pk=own.pk).state == "active"
    assert Run.objects.get(pk=theirs.pk).state == "merged"
    assert Run.objects.get(pk=lone.pk).contact_id == survivor.pk
