"""Editing a live campaign: changes apply when runs reach the step; a step with runs on it is
deleted only once the editor says where they go."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from tests import factories
from wagtail_segments.campaigns.editing import StepInUse, delete_step
from wagtail_segments.campaigns.executor import run_due_steps
from wagtail_segments.campaigns.models import Run, Step, StepLog
from wagtail_segments.campaigns.steps import validate_tree

pytestmark = pytest.mark.django_db


def three_steps():
    campaign = factories.campaign()
    wait, tag, points = factories.chain(
        campaign, ("wait", {"days": 2}), ("action", {"action": "add_tags", "tags": ["old"]}),
        ("action", {"action": "change_points", "points": 5}),
    )
    return campaign, wait, tag, points


def test_a_changed_step_applies_to_runs_when_they_reach_it():
    campaign, wait, tag, _points = three_steps()
    contact = factories.contact()
    run = factories.run(campaign, contact, step=wait, state="waiting")
    tag.config = {"action": "add_tags", "tags": ["new"]}
    tag.save()
    run_due_steps()
    assert list(contact.tags.names()) == ["new"]
    assert Run.objects.get(pk=run.pk).state == "completed"


def test_deleting_a_step_with_runs_waiting_on_it_needs_to_know_where_they_go():
    campaign, wait, _tag, _points = three_steps()
    factories.run(campaign, factories.contact(), step=wait, state="waiting")
    with pytest.raises(StepInUse) as refused:
        delete_step(wait)
    assert "1 run is on" in str(refused.value)
    assert Step.objects.filter(pk=wait.pk).exists()


def test_runs_go_to_the_next_step_which_takes_the_deleted_steps_place():
    campaign, wait, tag, points = three_steps()
    contact = factories.contact()
    factories.run(campaign, contact, step=wait, state="waiting", next_due_at=timezone.now())

    assert delete_step(wait, runs_go_to="next") == 1

    tag.refresh_from_db()
    assert tag.parent_id is None and campaign.first_step() == tag
    assert not Step.objects.filter(pk=wait.pk).exists()  # nothing referred to it: erased
    assert validate_tree(campaign) == []
    run_due_steps()
    contact.refresh_from_db()
    assert list(contact.tags.names()) == ["old"] and contact.points == 5


def test_runs_go_to_a_chosen_step_or_leave():
    campaign, wait, tag, points = three_steps()
    to_points, leaving = factories.contact(), factories.contact()
    factories.run(campaign, to_points, step=tag)
    delete_step(tag, runs_go_to=points)
    assert Run.objects.get(contact=to_points).step == points

    factories.run(campaign, leaving, step=points)
    Run.objects.filter(contact=to_points).update(state="completed", step=None)
    delete_step(points, runs_go_to="leave")
    run = Run.objects.get(contact=leaving)
    assert (run.state, run.finished_at is not None) == ("left", True)


def test_a_step_with_history_is_removed_from_the_tree_and_keeps_its_log():
    campaign, wait, tag, _points = three_steps()
    done = factories.run(campaign, factories.contact(), step=None, state="completed")
    StepLog.objects.create(run=done, step=wait, state="done")

    delete_step(wait)

    wait.refresh_from_db()
    assert (wait.kind, wait.parent_id, wait.config["removed_kind"]) == ("removed", None, "wait")
    assert StepLog.objects.filter(step=wait).exists()
    assert campaign.first_step() == Step.objects.get(pk=tag.pk)
    assert validate_tree(campaign) == []


def test_deleting_a_decision_keeps_the_branch_the_editor_names():
    page = factories.content_page()
    campaign = factories.campaign()
    fork = factories.step(campaign, "decision", name="Visited?", did="visited", page=page.pk, days=1)
    yes = factories.step(campaign, "action", parent=fork, branch="yes", action="add_tags", tags=["yes"])
    no = factories.step(campaign, "action", parent=fork, branch="no", action="add_tags", tags=["no"])
    no_next = factories.step(campaign, "wait", parent=no, days=1)
    contact = factories.contact()
    factories.run(campaign, contact, step=no_next, state="waiting")

    with pytest.raises(ValidationError):
        delete_step(fork, runs_go_to="next")  # which branch stays?
    delete_step(fork, runs_go_to="next", keep_branch="yes")

    assert set(Step.objects.filter(campaign=campaign).values_list("pk", flat=True)) == {yes.pk}
    assert campaign.first_step() == Step.objects.get(pk=yes.pk)
    assert Run.objects.get(contact=contact).step_id == yes.pk  # moved off the dropped branch
    assert validate_tree(campaign) == []


def test_runs_cannot_go_to_a_step_being_deleted():
    campaign, wait, tag, _points = three_steps()
    factories.run(campaign, factories.contact(), step=wait, state="waiting")
    with pytest.raises(ValidationError):
        delete_step(wait, runs_go_to=wait)
