"""Step kinds and the checks that keep a campaign's tree runnable.

A step kind says which branches a step may have (and which it must have), how its settings
are checked, when a run that reaches it is due (``arrive``) and, for the kinds that branch,
which branch a run takes when it executes the step (``outcome``). Adding a kind touches
neither the models nor the executor's loop: the executor asks the kind.

Branches are plain names: ``next`` for a step that goes on, ``yes``/``no`` for decisions and
conditions, and the labels a split's settings give (``a``, ``b``, ``c``, …).
"""

from __future__ import annotations

import datetime
import hashlib
import re
from typing import TYPE_CHECKING, Any, ClassVar

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from wagtail_segments.segments.models import Segment

from .models import Campaign, Step
from .timing import wait_ends_at, wait_problems

if TYPE_CHECKING:
    from .models import Run

STEP_KINDS: dict[str, type["StepKind"]] = {}


class StepKind:
    """One kind of step. Subclasses with a ``name`` register themselves."""

    name: ClassVar[str] = ""
    label: ClassVar[Any] = ""
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

    def branch_names(self, config: dict) -> tuple[str, ...]:
        """The branches a step of this kind with these settings may have."""
        return tuple(self.branches)

    def branch_problems(self, config: dict, present: set[str]) -> list[str]:
        """What is wrong with the branches the step has (``present``): a required one empty."""
        return [_("its “%(branch)s” branch is empty.") % {"branch": branch_label(branch)}
                for branch in self.required_branches if branch not in present]

    def due_at(self, config: dict, now: datetime.datetime) -> datetime.datetime:
        """When a run that reaches this step at ``now`` is due to execute it."""
        return now

    # True when ``arrive`` reads the run (a decision): such arrivals are never made in bulk.
    arrival_reads_run: ClassVar[bool] = False

    def arrive(self, step: Step, now: datetime.datetime, run: "Run | None") -> datetime.datetime:
        """When ``run`` (None: a run being created) reaching ``step`` at ``now`` is due."""
        return self.due_at(step.config or {}, now)

    def outcome(self, run: "Run", step: Step, now: datetime.datetime) -> dict:
        """What executing the step (not an action) decides, kept on its log; ``branch`` is the
        branch the run goes down (``next`` when absent)."""
        return {}


class ActionStep(StepKind):
    name = "action"
    label = gettext_lazy("Action")

    def problems(self, config: dict) -> list[str]:
        from .actions import action_problems

        return action_problems(config)


class WaitStep(StepKind):
    name = "wait"
    label = gettext_lazy("Wait")

    def problems(self, config: dict) -> list[str]:
        return wait_problems(config)

    def due_at(self, config: dict, now: datetime.datetime) -> datetime.datetime:
        return wait_ends_at(config, now)


class GoalStep(StepKind):
    name = "goal"
    label = gettext_lazy("Goal")
    branches = ()
    in_path = False

    def problems(self, config: dict) -> list[str]:
        return segment_problems(config.get("segment"))


class RemovedStep(StepKind):
    """What a deleted step becomes when logs or finished runs still refer to it
    (editing.delete_step): out of the tree, kept for the history."""

    name = "removed"
    label = gettext_lazy("Removed step")
    branches = ()
    in_path = False


class DecisionStep(StepKind):
    """Did the contact do X within a time of reaching the step? ``yes`` as soon as it does
    (moved by the event: decisions.py), ``no`` when the time runs out. The yes-branch is
    what a decision is for, so it must have a step; an empty no-branch ends the run there."""

    name = "decision"
    label = gettext_lazy("Decision")
    branches = (Step.Branch.YES, Step.Branch.NO)
    required_branches = (Step.Branch.YES,)

    def problems(self, config: dict) -> list[str]:
        from .decisions import decision_problems

        return decision_problems(config)

    arrival_reads_run = True

    def arrive(self, step, now, run):
        from .decisions import decision_deadline, happened

        if run is not None and happened(step.config or {}, run, run.reached_step_at or now, now):
            return now  # done before the run got here, since the step before: yes at once
        return decision_deadline(step.config or {}, now)

    def outcome(self, run, step, now):
        from .decisions import counting_from, happened

        # Until the deadline (what resume may have moved), or until it arrived when it is
        # due at once because the contact had done it already.
        yes = happened(step.config or {}, run, counting_from(run), run.next_due_at or now)
        return {"branch": Step.Branch.YES if yes else Step.Branch.NO, "by": "check" if yes else "timeout"}


class ConditionStep(StepKind):
    """Segment rules evaluated for this one contact, once, when the run reaches the step.
    At least one of its branches must have a step (an empty one ends the run there)."""

    name = "condition"
    label = gettext_lazy("Condition")
    branches = (Step.Branch.YES, Step.Branch.NO)

    def problems(self, config: dict) -> list[str]:
        from .conditions import condition_problems

        return condition_problems(config)

    def branch_problems(self, config, present):
        if present:
            return []
        return [_("both its branches are empty: give “Yes” or “No” a step.")]

    def outcome(self, run, step, now):
        from .conditions import contact_matches

        yes = contact_matches(step.config or {}, run.contact_id, now)
        return {"branch": Step.Branch.YES if yes else Step.Branch.NO}


BRANCH_NAME = re.compile(r"^[a-z0-9_]{1,10}$")


class SplitStep(StepKind):
    """Shares of contacts down each branch: ``{"shares": {"a": 50, "b": 30, "c": 20}}``
    (whole percentages adding up to 100). A stable hash of the step's key and the contact
    picks the branch, so a contact that enters again goes the same way; the run records it
    in ``Run.branches``. Every branch needs a step (a control group ends with "leave")."""

    name = "split"
    label = gettext_lazy("Split")
    branches = ()

    def problems(self, config: dict) -> list[str]:
        shares = config.get("shares")
        if not isinstance(shares, dict) or len(shares) < 2:
            return [_("Give at least two branches and their shares.")]
        problems = []
        for name, share in shares.items():
            if not BRANCH_NAME.match(str(name)) or name in (Step.Branch.NEXT, Step.Branch.YES, Step.Branch.NO):
                problems.append(_("“%(name)s” is not a branch name: use up to 10 lowercase letters, digits or _.")
                                % {"name": name})
            if isinstance(share, bool) or not isinstance(share, int) or share <= 0:
                problems.append(_("The share of “%(name)s” must be a whole number above 0.") % {"name": name})
        if not problems and sum(shares.values()) != 100:
            problems.append(_("The shares add up to %(total)s, not 100.") % {"total": sum(shares.values())})
        return problems

    def branch_names(self, config):
        shares = config.get("shares")
        return tuple(shares) if isinstance(shares, dict) else ()

    def branch_problems(self, config, present):
        return [_("its “%(branch)s” branch is empty.") % {"branch": branch_label(name)}
                for name in self.branch_names(config) if name not in present]

    def outcome(self, run, step, now):
        return {"branch": split_branch(step, run.contact_id)}


def split_branch(step: Step, contact_id: int) -> str:
    """The branch of ``step``'s split a contact goes down: the same every time for the same
    step and contact, and in the set shares over many contacts."""
    shares = (step.config or {}).get("shares") or {}
    digest = hashlib.sha256(f"{step.key}:{contact_id}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") % sum(shares.values())
    for name, share in shares.items():
        if point < share:
            return name
        point -= share
    raise AssertionError("unreachable: the point lies below the total of the shares")


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


def arrival(step: Step | None, now: datetime.datetime, run: "Run | None" = None) -> dict:
    """The run fields for ``run`` (None: a run being created) reaching ``step`` at ``now``
    (None: the end of its branch). ``previous_step_at`` becomes when the run reached the
    step it leaves (when it finished the one before that): a decision counts what the
    contact did since then."""
    times = {"reached_step_at": now, "previous_step_at": run.reached_step_at if run is not None else None}
    if step is None:
        return {"step": None, "state": "completed", "next_due_at": None, "finished_at": now, **times}
    due = step_kind(step).arrive(step, now, run)
    return {"step": step, "state": "waiting" if due > now else "active", "next_due_at": due, **times}


def branch_label(name: str) -> str:
    """A branch's name for the editor: Next, Yes, No, or a split's own label."""
    if name in Step.Branch.values:
        return str(Step.Branch(name).label)
    return name.upper() if len(name) == 1 else name


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
    steps = {step.pk: step for step in campaign.steps.exclude(kind=RemovedStep.name)}
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
        parent_kind = step_kind(parent)
        if parent_kind is not None and step.branch not in parent_kind.branch_names(parent.config or {}):
            problems.append(named(step, _("“%(parent)s” has no “%(branch)s” branch.")
                                  % {"parent": step_label(parent), "branch": branch_label(step.branch)}))
        children[parent.pk][step.branch] = step

    for step in steps.values():
        kind = step_kind(step)
        if kind is not None and kind.in_path:
            problems += [named(step, p) for p in kind.branch_problems(step.config or {}, set(children[step.pk]))]
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
