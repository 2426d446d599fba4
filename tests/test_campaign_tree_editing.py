"""Putting a step between others and moving one: what stood at the place follows the step,
runs stay where they are, and the tree still validates."""

import pytest
from django.core.exceptions import ValidationError

from tests import factories
from wagtail_segments.campaigns.editing import insert_step, move_step
from wagtail_segments.campaigns.models import Step
from wagtail_segments.campaigns.steps import validate_tree

pytestmark = pytest.mark.django_db


def test_a_step_put_first_is_followed_by_the_old_first_step():
    campaign = factories.campaign(status="draft")
    (old,) = factories.chain(campaign, ("wait", {"days": 1}))
    new = insert_step(Step(campaign=campaign, kind="action", config={"action": "add_tags", "tags": ["x"]}))
    old.refresh_from_db()
    assert campaign.first_step() == new and old.parent == new and old.branch == "next"
    assert validate_tree(campaign) == []


def test_a_decision_put_between_takes_what_followed_on_yes():
    campaign = factories.campaign(status="draft")
    tag, points = factories.chain(campaign, ("action", {"action": "add_tags", "tags": ["x"]}),
                                  ("action", {"action": "change_points", "points": 1}))
    decision = insert_step(Step(campaign=campaign, kind="decision", config={"did": "tagged", "tag": "y", "days": 1}),
                           tag, "next")
    points.refresh_from_db()
    assert (points.parent, points.branch) == (decision, "yes")
    assert validate_tree(campaign) == []


def test_moving_a_step_keeps_its_runs_and_closes_the_gap():
    campaign = factories.campaign()
    a, b, c = factories.chain(campaign, ("action", {"action": "add_tags", "tags": ["a"]}), ("wait", {"days": 1}),
                              ("action", {"action": "change_points", "points": 1}))
    run = factories.run(campaign, factories.contact(email="r@example.com"), step=b, state="waiting")
    move_step(b, c, "next")
    for step in (a, b, c):
        step.refresh_from_db()
    run.refresh_from_db()
    assert (c.parent, b.parent) == (a, c) and run.step == b
    assert validate_tree(campaign) == []


def test_a_step_with_branches_is_not_moved():
    campaign = factories.campaign(status="draft")
    decision = factories.step(campaign, "decision", did="tagged", tag="y", days=1)
    with pytest.raises(ValidationError):
        move_step(decision, None)
