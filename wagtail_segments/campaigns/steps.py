"""Step kinds and the checks that keep a campaign's tree runnable.

A step kind says which branches a step may have (and which it must have), how its settings
are checked, and whether runs pass through it. Later kinds (decision, condition, split) are
subclasses with ``branches = ("yes", "no")`` or their own labels; the executor asks the kind
which branch a run takes, so adding one touches neither the models nor the executor's loop.
"""

from __future__ import annotations

import datetime
from typing import ClassVar

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _

from wagtail_segments.segments.models import Segment

from .models import Campaign, Step
from .timing import wait_ends_at, wait_problems

STEP_KINDS: dict[str, type["StepKind"]] = {}


class StepKind:
    """One kind of step. Subclasses with a ``name`` register themselves."""

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""
    branches: ClassVar[tuple[str, ...]] = (Step.Branch.NEXT,)
    required_branches: ClassVar[tuple[str, ...]] = ()
    # Goals sit beside the tree: they are listened for wherever a run is.
    in_path: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("name")
        if not name:
            return  # an intermediate base class
        known = STEP_KINDS.get(name)
        if known is not None and known.__qualname__ != cls.__qualname__:
            raise ImproperlyConfigured(f"Step kind {name!r} is defined twice: {known} and {cls}.")
        STEP_KINDS[name] = cls

    def problems(self, config: dict) -> list[str]:
        """What is wrong with a step's settings, in words for the editor."""
        return []

    def due_at(self, config: dict, now: datetime.datetime) -> datetime.datetime:
        """When a run that reaches this step at ``now`` is due to execute it."""
        return now


class ActionStep(StepKind):
    name = "action"
    label = "Action"

    def problems(self, config: dict) -> list[str]:
        from .actions import action_problems

        return action_problems(config)


class WaitStep(StepKind):
    name = "wait"
    label = "Wait"

    def problems(self, config: dict) -> list[str]:
        return wait_problems(config)

    def due_at(self, config: dict, now: datetime.datetime) -> datetime.datetime:
        return wait_ends_at(config, now)


class GoalStep(StepKind):
    name = "goal"
    label = "Goal"
    branches = ()
    in_path = False

    def problems(self, config: dict) -> list[str]:
        return segment_problems(config.get("segment"))


def segment_problems(segment_id, *, static: bool = False) -> list[str]:
    """A reference to a segment that must exist (and be static, when the step writes to it)."""
    if segment_id in (None, ""):
        return [_("Choose a segment.")]
    try:
        segment = Segment.objects.filter(pk=int(segment_id)).first()
    except (TypeError, ValueError):
        segment = None
    if segment is None:
        return [_("The segment it refers to (id %(id)s) no longer exists.") % {"id": segment_id}]
    if static and segment.is_dynamic:
        return [_("“%(segment)s” is dynamic: only static segments take contacts from campaigns.")
                % {"segment": segment}]
    return []


def step_kind(step: Step) -> StepKind | None:
    kind = STEP_KINDS.get(step.kind)
    return kind() if kind else None


def arrival(step: Step | None, now: datetime.datetime) -> dict:
    """The run fields for a run reaching ``step`` at ``now`` (None: the end of its branch)."""
    if step is None:
        return {"step": None, "state": "completed", "next_due_at": None, "finished_at": now}
    due = step_kind(step).due_at(step.config or {}, now)
    return {"step": step, "state": "waiting" if due > now else "active", "next_due_at": due}


def step_label(step: Step) -> str:
    if step.name:
        return step.name
    kind = STEP_KINDS.get(step.kind)
    return f"{kind.label if kind else step.kind} {str(step.key)[:8]}"


def step_problems(step: Step) -> list[str]:
    kind = step_kind(step)
    if kind is None:
        return [_("“%(kind)s” is not a step kind.") % {"kind": step.kind}]
    return kind.problems(step.config or {})


def validate_tree(campaign: Campaign) -> list[str]:
    """Every problem of the campaign's steps, each naming its step; empty when it can run."""
    steps = {step.pk: step for step in campaign.steps.all()}
    children: dict[int, dict[str, Step]] = {pk: {} for pk in steps}
    problems: list[str] = []

    def named(step: Step, message: str) -> str:
        return _("Step “%(step)s”: %(problem)s") % {"step": step_label(step), "problem": message}

    roots = []
    for step in steps.values():
        problems += [named(step, p) for p in step_problems(step)]
        kind = STEP_KINDS.get(step.kind)
        if step.parent_id is None:
            if kind is None or kind.in_path:
                roots.append(step)
            continue
        if kind is not None and not kind.in_path:
            problems.append(named(step, _("a goal applies to the whole campaign and cannot follow a step.")))
        parent = steps.get(step.parent_id)
        if parent is None:
            problems.append(named(step, _("it follows a step of another campaign.")))
            continue
        parent_kind = STEP_KINDS.get(parent.kind)
        if parent_kind is not None and step.branch not in parent_kind.branches:
            problems.append(named(step, _("“%(parent)s” has no “%(branch)s” branch.")
                                  % {"parent": step_label(parent), "branch": step.get_branch_display()}))
        children[parent.pk][step.branch] = step

    for step in steps.values():
        kind = STEP_KINDS.get(step.kind)
        for branch in kind.required_branches if kind else ():
            if branch not in children[step.pk]:
                problems.append(named(step, _("its “%(branch)s” branch is empty.")
                                      % {"branch": Step.Branch(branch).label}))
    if len(roots) > 1:
        problems.append(_("The campaign has more than one first step: %(steps)s.")
                        % {"steps": ", ".join(step_label(s) for s in roots)})

    # Whatever the roots cannot reach lies on a loop of parents (or below one).
    reached: set[int] = set()
    todo = [s.pk for s in roots] + [s.pk for s in steps.values() if s.parent_id is None]
    while todo:
        pk = todo.pop()
        if pk not in reached:
            reached.add(pk)
            todo += [c.pk for c in children[pk].values()]
    for step in steps.values():
        if step.pk not in reached:
            problems.append(named(step, _("it is on a loop (or follows one): its steps lead back to themselves.")))
    return problems
