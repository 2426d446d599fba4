"""Editing a live campaign.

Steps keep their ``key`` through edits, and a run reads its step's settings when it
reaches the step: a change applies to the runs that reach the changed step afterwards
(a run already waiting keeps the due time it was given).

Deleting a step that runs stand on needs the editor to say where they go
(``delete_step(step, runs_go_to=…)``): to what follows it (``"next"``), to another step, or
out of the campaign (``"leave"``). Each run moves by compare-and-set, so one that a worker,
an event or a goal moves at the same moment is moved once. The deleted step's child takes
its place in the tree; a step with several branches keeps the one the editor names
(``keep_branch``), and the steps down the others go with it.

A step that logs or finished runs still refer to is not erased but *removed*: it leaves
the tree (kind ``removed``, no parent) and keeps its history.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .models import Run, Step, StepLog
from .moving import move_run
from .steps import RemovedStep, arrival, branch_label, step_label

NEXT, LEAVE = "next", "leave"
MOVE_ATTEMPTS = 5


class StepInUse(ValidationError):
    """The step has runs on it and the editor has not said where they go."""


def _subtree(step: Step) -> list[Step]:
    found, todo = [], [step]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += list(current.children.all())
    return found


def delete_step(step: Step, runs_go_to: str | Step | None = None, *, keep_branch: str | None = None) -> int:
    """Delete ``step`` from its campaign; returns how many runs were moved off it.

    ``runs_go_to``: ``"next"`` (the step that takes its place, or the run completes when
    none does), another step of the campaign, or ``"leave"``. Needed only when live runs
    stand on a step being deleted. ``keep_branch``: for a step with more than one branch
    in use, the branch whose steps take its place (the others are deleted too).
    """
    children = {child.branch: child for child in step.children.all()}
    if len(children) > 1 and keep_branch not in children:
        raise ValidationError(_("“%(step)s” has several branches: say which one takes its place (%(branches)s).")
                              % {"step": step_label(step), "branches": ", ".join(branch_label(b) for b in children)})
    kept = children.get(keep_branch) if keep_branch else next(iter(children.values()), None)
    doomed = [step] + [s for child in children.values() if child is not kept for s in _subtree(child)]
    doomed_ids = {s.pk for s in doomed}
    if isinstance(runs_go_to, Step):
        if runs_go_to.campaign_id != step.campaign_id or runs_go_to.pk in doomed_ids:
            raise ValidationError(_("The runs can only go to a step of this campaign that stays."))
    elif runs_go_to not in (None, NEXT, LEAVE):
        raise ValidationError(_("Say where the runs go: the next step, another step, or out of the campaign."))

    with transaction.atomic():
        waiting = Run.objects.live().filter(step_id__in=doomed_ids)
        count = waiting.count()
        if count and runs_go_to is None:
            raise StepInUse(ngettext(
                "%(count)s run is on “%(step)s”: say where it goes before deleting it.",
                "%(count)s runs are on “%(step)s”: say where they go before deleting it.", count,
            ) % {"count": count, "step": step_label(step)})
        moved = _move_runs(doomed_ids, kept if runs_go_to == NEXT else runs_go_to)
        if kept is not None:  # out from under the step first: deleting it would take the child along
            Step.objects.filter(pk=kept.pk).update(parent=None)
        for gone in reversed(doomed):  # leaves first
            _erase_or_remove(gone)
        if kept is not None:
            Step.objects.filter(pk=kept.pk).update(parent=step.parent_id, branch=step.branch)
    return moved


def _move_runs(step_ids: set[int], target) -> int:
    """Move every live run off ``step_ids`` to ``target`` (a Step, None: completes, or
    ``"leave"``); a run moved meanwhile by something else is read again and moved."""
    moved = 0
    for _attempt in range(MOVE_ATTEMPTS):
        runs = list(Run.objects.live().filter(step_id__in=step_ids))
        if not runs:
            return moved
        for run in runs:
            now = timezone.now()
            if target == LEAVE:
                fields = {"state": Run.State.LEFT, "next_due_at": None, "finished_at": now}
            else:
                fields = arrival(target, now, run)
            moved += move_run(run, fields)
    if Run.objects.live().filter(step_id__in=step_ids).exists():
        raise ValidationError(_("Runs kept moving on the step: try again."))
    return moved


def _erase_or_remove(step: Step) -> None:
    """Delete the step, or take it out of the tree when its history refers to it."""
    referred = StepLog.objects.filter(step=step).exists() or Run.objects.filter(step=step).exists()
    if not referred:
        Step.objects.filter(pk=step.pk).delete()
        return
    config = {**(step.config or {}), "removed_kind": step.kind, "removed_at": timezone.now().isoformat()}
    Step.objects.filter(pk=step.pk).update(kind=RemovedStep.name, parent=None, branch=Step.Branch.NEXT, config=config)


def first_branch(step: Step) -> str:
    """The branch a step's existing successor hangs on when a step is put in before it:
    ``next``, a decision's or condition's ``yes``, a split's first label."""
    from .steps import step_kind

    kind = step_kind(step)
    names = kind.branch_names(step.config or {}) if kind else ()
    return names[0] if names else Step.Branch.NEXT


def _slot_holder(campaign_id: int, parent: Step | None, branch: str, exclude: int | None = None) -> Step | None:
    """The step standing at (parent, branch): a first step when ``parent`` is None."""
    from .steps import STEP_KINDS

    steps = Step.objects.filter(campaign_id=campaign_id).exclude(pk=exclude)
    if parent is None:
        in_path = [name for name, kind in STEP_KINDS.items() if kind.in_path]
        return steps.filter(parent__isnull=True, kind__in=in_path).first()
    return steps.filter(parent=parent, branch=branch).first()


def insert_step(step: Step, parent: Step | None = None, branch: str = Step.Branch.NEXT) -> Step:
    """Save the new ``step`` at (``parent``, ``branch``), or first when ``parent`` is None;
    what stood there follows it on its first branch (see ``first_branch``). Runs are not
    moved: a run reaches the new step when its step before it is done. A goal is saved
    beside the tree."""
    from .steps import step_kind

    kind = step_kind(step)
    with transaction.atomic():
        if kind is not None and not kind.in_path:
            step.parent, step.branch = None, Step.Branch.NEXT
            step.save()
            return step
        holder = _slot_holder(step.campaign_id, parent, branch)
        if holder is not None:
            Step.objects.filter(pk=holder.pk).update(parent=None)  # out of the slot first
        step.parent, step.branch = parent, branch if parent is not None else Step.Branch.NEXT
        step.save()
        if holder is not None:
            Step.objects.filter(pk=holder.pk).update(parent=step, branch=first_branch(step))
    return step


def move_step(step: Step, parent: Step | None, branch: str = Step.Branch.NEXT) -> None:
    """Move a step that has one way on (an action or a wait) to (``parent``, ``branch``):
    the step after it takes its old place, and what stood at the new place follows it.
    Runs on it stay on it and go on from its new place."""
    from .steps import step_kind

    kind = step_kind(step)
    if kind is None or tuple(kind.branch_names(step.config or {})) != (Step.Branch.NEXT,):
        raise ValidationError(_("Only actions and waits can be moved; a step with branches moves with its "
                                "branches by deleting and adding steps."))
    if parent is not None and (parent.pk == step.pk or parent.campaign_id != step.campaign_id):
        raise ValidationError(_("Choose a place in this campaign other than the step itself."))
    with transaction.atomic():
        follower = step.child(Step.Branch.NEXT)
        old_parent, old_branch = step.parent_id, step.branch
        Step.objects.filter(pk=step.pk).update(parent=None)
        if follower is not None:
            Step.objects.filter(pk=follower.pk).update(parent_id=old_parent, branch=old_branch)
        if parent is not None:
            parent.refresh_from_db()
        holder = _slot_holder(step.campaign_id, parent, branch, exclude=step.pk)
        if holder is not None:
            Step.objects.filter(pk=holder.pk).update(parent=None)
        Step.objects.filter(pk=step.pk).update(parent=parent, branch=branch if parent is not None else Step.Branch.NEXT)
        if holder is not None:
            Step.objects.filter(pk=holder.pk).update(parent=step, branch=Step.Branch.NEXT)
        step.refresh_from_db()
