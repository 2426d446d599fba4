"""A campaign's tree is refused when it cannot run, with a message naming the step."""

import pytest
from django.core.exceptions import ValidationError

from tests import factories
from tests.segment_helpers import segment
from wagtail_segments.campaigns.models import Step
from wagtail_segments.campaigns.steps import STEP_KINDS, StepKind, validate_tree

pytestmark = pytest.mark.django_db


@pytest.fixture
def choice_kind():
    """A step kind with two required branches, the shape decisions and conditions take."""

    class Choice(StepKind):
        name = "test_choice"
        label = "Choice"
        branches = ("yes", "no")
        required_branches = ("yes", "no")

    yield Choice
    STEP_KINDS.pop("test_choice")


def test_a_runnable_tree_has_no_problems():
    campaign = factories.campaign()
    factories.chain(campaign, ("action", {"action": "add_tags", "tags": ["a"]}), ("wait", {"days": 2}))
    factories.step(campaign, "goal", segment=segment(kind="static", build=False).pk)
    assert validate_tree(campaign) == []
    campaign.full_clean()


def test_a_loop_is_refused_naming_its_steps():
    campaign = factories.campaign()
    first, second = factories.chain(campaign, ("wait", {"days": 1}), ("wait", {"days": 2}))
    loop_a = factories.step(campaign, "wait", name="Loop A", days=1)
    loop_b = factories.step(campaign, "wait", name="Loop B", parent=loop_a, days=1)
    Step.objects.filter(pk=loop_a.pk).update(parent=loop_b)
    problems = validate_tree(campaign)
    assert any("Loop A" in p and "loop" in p for p in problems)
    assert any("Loop B" in p and "loop" in p for p in problems)
    assert not any(first.name and first.name in p for p in problems)


def test_an_empty_required_branch_is_refused_naming_the_step(choice_kind):
    campaign = factories.campaign()
    fork = factories.step(campaign, "test_choice", name="Opened?")
    factories.step(campaign, "wait", parent=fork, branch="yes", days=1)
    assert validate_tree(campaign) == ["Step “Opened?”: its “No” branch is empty."]


def test_a_branch_the_step_does_not_have_is_refused():
    campaign = factories.campaign()
    first = factories.step(campaign, "wait", name="Pause", days=1)
    factories.step(campaign, "wait", name="Odd", parent=first, branch="yes", days=1)
    assert validate_tree(campaign) == ["Step “Odd”: “Pause” has no “Yes” branch."]


def test_a_reference_to_a_deleted_segment_is_refused_naming_the_step():
    campaign = factories.campaign()
    gone = segment(kind="static", build=False)
    factories.step(campaign, "action", name="File them", action="add_to_segment", segment=gone.pk)
    factories.step(campaign, "goal", name="Bought", segment=gone.pk)
    gone.delete()
    problems = validate_tree(campaign)
    assert len(problems) == 2
    assert problems[0].startswith("Step “File them”: The segment it refers to")
    assert problems[1].startswith("Step “Bought”: The segment it refers to")
    with pytest.raises(ValidationError) as raised:
        campaign.full_clean()
    assert "File them" in str(raised.value)


def test_an_action_that_does_not_exist_or_a_dynamic_segment_target_is_refused():
    campaign = factories.campaign()
    factories.step(campaign, "action", name="Mystery", action="teleport")
    factories.step(campaign, "goal", segment=segment(build=False).pk)
    dynamic = segment(build=False)
    factories.step(campaign, "action", name="Add", action="add_to_segment", segment=dynamic.pk,
                   parent=campaign.first_step())
    problems = validate_tree(campaign)
    assert "Step “Mystery”: “teleport” is not an action." in problems
    assert any(p.startswith("Step “Add”:") and "dynamic" in p for p in problems)


def test_a_goal_inside_the_path_and_two_first_steps_are_refused():
    campaign = factories.campaign()
    first = factories.step(campaign, "wait", name="One", days=1)
    factories.step(campaign, "wait", name="Two", days=1)
    factories.step(campaign, "goal", name="Late goal", parent=first, segment=segment(build=False).pk)
    problems = validate_tree(campaign)
    assert any("Late goal" in p and "whole campaign" in p for p in problems)
    assert any("more than one first step" in p and "One" in p and "Two" in p for p in problems)


def test_a_re_entry_after_days_needs_the_days():
    campaign = factories.campaign(reentry="after_days")
    with pytest.raises(ValidationError):
        campaign.full_clean()


def test_a_step_with_runs_on_it_cannot_be_deleted_but_its_campaign_can():
    from django.db.models import RestrictedError

    from wagtail_segments.campaigns.models import Campaign, StepLog

    campaign = factories.campaign()
    first, = factories.chain(campaign, ("wait", {"days": 1}))
    run = factories.run(campaign, factories.contact())
    StepLog.objects.create(run=run, step=first, state="done")
    with pytest.raises(RestrictedError):
        first.delete()
    campaign.delete()
    assert not Campaign.objects.exists() and not StepLog.objects.exists()


def test_a_decision_without_a_yes_step_is_refused_and_an_empty_no_branch_is_allowed():
    page = factories.content_page()
    campaign = factories.campaign()
    fork = factories.step(campaign, "decision", name="Visited pricing?", did="visited", page=page.pk, days=3)
    assert validate_tree(campaign) == ["Step “Visited pricing?”: its “Yes” branch is empty."]
    factories.step(campaign, "action", parent=fork, branch="yes", action="add_tags", tags=["warm"])
    assert validate_tree(campaign) == []


def test_a_decision_or_condition_naming_a_deleted_page_form_or_segment_is_refused_naming_it():
    from tests.segment_helpers import rule

    page, form, gone = factories.content_page(), factories.form_page(), segment(kind="static", build=False)
    campaign = factories.campaign()
    visited = factories.step(campaign, "decision", name="Visited?", did="visited", page=page.pk, days=1)
    submitted = factories.step(campaign, "decision", name="Submitted?", parent=visited, branch="yes",
                               did="submitted", form=form.pk, days=1)
    joined = factories.step(campaign, "decision", name="Joined?", parent=submitted, branch="yes",
                            did="entered_segment", segment=gone.pk, days=1)
    checked = factories.step(campaign, "condition", name="Read it?", parent=joined, branch="yes",
                             rules=[rule("page_views", page=page.pk)])
    factories.step(campaign, "wait", parent=checked, branch="yes", days=1)
    assert validate_tree(campaign) == []

    page_id, form_id = page.pk, form.pk
    page.delete()
    form.delete()
    gone.delete()
    problems = validate_tree(campaign)
    assert f"Step “Visited?”: The page it refers to (id {page_id}) no longer exists." in problems
    assert f"Step “Submitted?”: The form it refers to (id {form_id}) no longer exists." in problems
    assert any(p.startswith("Step “Joined?”: The segment it refers to") for p in problems)
    assert any(p.startswith("Step “Read it?”: Rule 1 (Page views)") and "no longer exists" in p for p in problems)


def test_an_opened_decision_naming_a_deleted_email_is_refused():
    from wagtail_segments.messaging.models import EmailMessage

    message = EmailMessage.objects.create(name="Hello", subject="Hello")
    campaign = factories.campaign()
    fork = factories.step(campaign, "decision", name="Opened?", did="opened", message=message.pk, days=1)
    factories.step(campaign, "wait", parent=fork, branch="yes", days=1)
    assert validate_tree(campaign) == []
    message_id = message.pk
    message.delete()
    assert validate_tree(campaign) == [f"Step “Opened?”: The email it refers to (id {message_id}) no longer exists."]


def split_campaign(shares):
    campaign = factories.campaign()
    split = factories.step(campaign, "split", name="A/B", shares=shares)
    for name in shares:
        factories.step(campaign, "action", parent=split, branch=name, action="add_tags", tags=[name])
    return campaign, split


def test_split_shares_must_be_named_whole_and_add_up_to_100_and_every_branch_needs_a_step():
    campaign = factories.campaign()
    factories.step(campaign, "split", name="Odd", shares={"a": 50, "b": 40})
    assert validate_tree(campaign)[0] == "Step “Odd”: The shares add up to 90, not 100."
    campaign, split = split_campaign({"a": 50, "b": 50})
    assert validate_tree(campaign) == []
    factories.step(campaign, "wait", name="Stray", parent=split, branch="c", days=1)
    assert validate_tree(campaign) == ["Step “Stray”: “A/B” has no “C” branch."]
    campaign, split = split_campaign({"a": 60, "b": 40})
    split.child("b").delete()
    assert validate_tree(campaign) == ["Step “A/B”: its “B” branch is empty."]
    assert any("not a branch name" in p for p in STEP_KINDS["split"]().problems({"shares": {"Yes!": 50, "b": 50}}))


def test_a_split_sends_contacts_by_their_shares_and_always_the_same_way():
    from wagtail_segments.campaigns.steps import split_branch

    campaign, split = split_campaign({"a": 50, "b": 30, "c": 20})
    picks = [split_branch(split, contact_id) for contact_id in range(1, 1001)]
    counts = {name: picks.count(name) for name in "abc"}
    # 1,000 draws: each share within about three standard deviations.
    assert 450 <= counts["a"] <= 550 and 255 <= counts["b"] <= 345 and 160 <= counts["c"] <= 240
    assert picks == [split_branch(split, contact_id) for contact_id in range(1, 1001)]


def test_a_run_goes_down_its_split_branch_and_records_it():
    from wagtail_segments.campaigns.entry import enrol
    from wagtail_segments.campaigns.executor import run_due_steps
    from wagtail_segments.campaigns.models import Run
    from wagtail_segments.campaigns.steps import split_branch

    campaign, split = split_campaign({"a": 50, "b": 50})
    contacts = [factories.contact() for _ in range(6)]
    enrol(campaign, contacts)
    run_due_steps()
    for contact in contacts:
        branch = split_branch(split, contact.pk)
        assert list(contact.tags.names()) == [branch]
        assert Run.objects.get(contact=contact).branches == {str(split.key): branch}
