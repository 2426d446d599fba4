"""Executing claimed runs, step by step, each step at most once.

Every step starts by locking the run's row and checking that it is still as this worker
claimed it (version, lease, live state); then one of two paths:

- **Waits and transactional actions** (everything they do is written to this database): the
  effect, the (run, step) ``StepLog`` row marked ``done`` and the run's move to its next
  step commit in *one* transaction. A worker that dies mid-step leaves nothing behind, and
  the step is simply done again; a log already ``done`` is not done twice.
- **Any other action** (an email, a webhook): the log row is committed as ``claimed``
  *before* the side effect, marked ``done`` after it, then the run moves. A worker that
  finds the row ``claimed`` (its worker died while acting) marks it ``unknown`` and holds
  the run (``next_due_at`` empty) for a person (``resolve_unknown_step``); ``done`` (died
  after acting) moves the run on; ``failed`` is the retry.

Every move is a compare-and-set on (state, step, version): a goal or a merge that moved the
run first wins, and the worker stops. A failing action retries with the engine's back-off
(``attempts``, ``next_due_at``) and, after ``CAMPAIGN_MAX_ATTEMPTS``, the run fails.
One transactional step costs one commit; the claim's commit is shared by its batch.
"""

from __future__ import annotations

import datetime
import logging

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from wagtail_segments.conf import settings as conf

from . import batch as batched
from .actions import get_action
from .claims import claim_due_runs, new_owner
from .health import note_failed_step
from .models import LIVE_STATES, Campaign, Run, Step, StepLog
from .steps import arrival, step_kind
from .wakeup import wake_engine

logger = logging.getLogger(__name__)

# The most steps one claim takes a run through (steps due at once follow each other).
MAX_STEPS_PER_CLAIM = 50
LOST = "lost"  # the run moved under us (a goal, a merge, a lease taken over)
HELD = "held"


class LostClaim(Exception):
    """The run moved under the step's transaction (a goal, a merge): undo what it did."""


def run_due_steps(batch: int | None = None, lease_seconds: float | None = None) -> int:
    """Claim one batch of due runs and execute their steps; returns how many were claimed.
    Runs due on the same batchable step (an email) act together first (batch.py)."""
    owner = new_owner()
    runs = claim_due_runs(batch, lease_seconds, owner)
    for run in batched.execute_batches(runs, owner):
        try:
            execute_run(run, owner)
        except Exception:
            # The lease runs out and the run is claimed again: the step log says what was done.
            logger.exception("Campaign run %s stopped on an unexpected error", run.pk)
    return len(runs)


def execute_run(run: Run, owner: str) -> str:
    """Take a claimed run through every step that is due; returns its state or LOST/HELD."""
    for _step in range(MAX_STEPS_PER_CLAIM):
        now = timezone.now()
        step = run.step
        if step is None:
            return _move(run, owner, arrival(None, now)) or LOST
        if run.next_due_at is None or run.next_due_at > now:
            return _release(run, owner) or LOST
        kind = step_kind(step)
        if kind is None or not kind.in_path:
            return _fail(run, owner, _("“%(step)s” is not a step a run can stand on.") % {"step": step})
        action = get_action(step.config) if step.kind == "action" else None
        if step.kind == "action" and action is None:
            return _fail(run, owner, _("“%(action)s” is not an action.") % {"action": step.config.get("action")})
        later = action.deferred_until(run, step.config, now) if action is not None else None
        if later is not None and later > now:
            return defer(run, owner, later) or LOST
        if action is None or action.transactional:
            state = _step_in_one_transaction(run, step, owner, action)
        else:
            state = _step_with_side_effect(run, step, owner, action)
        if state != Run.State.ACTIVE:
            return state
    return _release(run, owner) or LOST


def _holds(run: Run, owner: str) -> bool:
    """Lock the run's row if it is still as this worker claimed it."""
    held = Run.objects.select_for_update(of=("self",)).filter(
        pk=run.pk, version=run.version, lease_owner=owner, state__in=LIVE_STATES,
        campaign__status=Campaign.Status.ACTIVE,  # a pause holds runs already claimed, too
    )
    return held.values_list("pk", flat=True).first() is not None


def _step_in_one_transaction(run: Run, step: Step, owner: str, action) -> str:
    """A wait or a transactional action: its effect, its log and the run's move commit
    together, or not at all (then the step is simply done again)."""
    try:
        with transaction.atomic():
            if not _holds(run, owner):
                return LOST
            log = StepLog.objects.select_for_update().filter(run=run, step=step).first()
            if log is not None and log.state == StepLog.State.UNKNOWN:
                return HELD
            result = log.result if log is not None else {}
            if log is None or log.state != StepLog.State.DONE:
                now = timezone.now()
                if action is not None:
                    result = action.execute(run, step.config) or {}
                else:  # a wait, or a step that chooses a branch (decision, condition, split)
                    result = step_kind(step).outcome(run, step, now)
                done = {"state": StepLog.State.DONE, "claimed_by": owner, "result": result,
                        "finished_at": now, "error": ""}
                if log is None:
                    StepLog.objects.create(run=run, step=step, started_at=now, **done)
                else:
                    StepLog.objects.filter(pk=log.pk).update(**done)
            state = _advance(run, owner, step, action, (result or {}).get("branch"))
            if state is None:
                raise LostClaim
            return state
    except LostClaim:
        return LOST
    except Exception as error:
        logger.warning("Campaign run %s: step %s failed: %r", run.pk, step.key, error)
        message = f"{type(error).__name__}: {error}"
        StepLog.objects.update_or_create(run=run, step=step, defaults={
            "state": StepLog.State.FAILED, "claimed_by": owner, "error": message, "finished_at": timezone.now(),
        })
        return _fail(run, owner, message)


def _step_with_side_effect(run: Run, step: Step, owner: str, action) -> str:
    """Any other action: its log is committed as claimed before it acts, and marked done
    after; a worker finding it claimed never acts again (``_begin``)."""
    begun = _begin(run, step, owner)
    if begun in (LOST, HELD):
        return begun
    log, act = begun
    if act:
        claimed = StepLog.objects.filter(pk=log.pk, state=StepLog.State.CLAIMED, claimed_by=owner)
        try:
            result = action.execute(run, step.config)
        except Exception as error:
            logger.warning("Campaign run %s: step %s failed: %r", run.pk, step.key, error)
            message = f"{type(error).__name__}: {error}"
            claimed.update(state=StepLog.State.FAILED, error=message, finished_at=timezone.now())
            return _fail(run, owner, message)
        if not claimed.update(state=StepLog.State.DONE, result=result or {}, finished_at=timezone.now()):
            return LOST
    return _advance(run, owner, step, action) or LOST


def _begin(run: Run, step: Step, owner: str):
    """Create or take over the step's log; returns (log, act?) or LOST / HELD."""
    now = timezone.now()
    with transaction.atomic():
        if not _holds(run, owner):
            return LOST
        log = StepLog.objects.select_for_update().filter(run=run, step=step).first()
        if log is None:
            log = StepLog.objects.create(run=run, step=step, claimed_by=owner, started_at=now)
            return log, True
        if log.state == StepLog.State.DONE:
            return log, False
        if log.state == StepLog.State.CLAIMED:
            StepLog.objects.filter(pk=log.pk).update(state=StepLog.State.UNKNOWN, finished_at=now)
            hold = _("A worker stopped while acting on “%(step)s”: whether it acted is unknown.") % {"step": step}
            Run.objects.filter(pk=run.pk, version=run.version).update(
                next_due_at=None, lease_owner="", lease_until=None, last_error=hold, version=F("version") + 1,
            )
            logger.warning("Campaign run %s: outcome of step %s unknown; held", run.pk, step.key)
            return HELD
        if log.state == StepLog.State.UNKNOWN:
            return HELD
        StepLog.objects.filter(pk=log.pk).update(
            state=StepLog.State.CLAIMED, claimed_by=owner, started_at=now, finished_at=None, error="",
        )
        log.claimed_by = owner
        return log, True


def _advance(run: Run, owner: str, step: Step, action, branch: str | None = None) -> str | None:
    """Move the run past a done step: down ``branch`` (``next`` when not told) to the step
    there, or out when the action ends runs."""
    fields = advance_fields(step, action, timezone.now(), run, branch)
    return _move(run, owner, fields, keep_lease=fields["state"] == Run.State.ACTIVE)


def advance_fields(step: Step, action, now: datetime.datetime, run: Run | None = None,
                   branch: str | None = None) -> dict:
    """The run fields after ``step`` is done. A branch other than ``next`` is recorded in
    ``Run.branches`` under the step's key. Without a ``run`` (batch.py's bulk move of many
    runs) the fields are those of any run, and ``previous_step_at`` is the caller's to set."""
    if action is not None and action.ends_run:
        return {"state": Run.State.LEFT, "next_due_at": None, "finished_at": now}
    branch = branch or Step.Branch.NEXT
    fields = arrival(step.child(branch), now, run)
    if branch != Step.Branch.NEXT and run is not None:
        fields["branches"] = {**(run.branches or {}), str(step.key): branch}
    return fields


def arrival_needs_the_run(step: Step) -> bool:
    """Does reaching the step after this one depend on the run itself (a decision looks at
    what its contact did since the step before)? Then runs cannot be moved in bulk."""
    following = step.child(Step.Branch.NEXT)
    kind = step_kind(following) if following is not None else None
    return kind is not None and kind.arrival_reads_run


def defer(run: Run, owner: str, until: datetime.datetime) -> str | None:
    """The run waits on its step until ``until`` (an action's ``deferred_until``)."""
    return _move(run, owner, {"step": run.step, "state": Run.State.WAITING, "next_due_at": until})


def retry_delay(attempts: int) -> datetime.timedelta:
    """The engine's back-off: CAMPAIGN_RETRY_SECONDS, doubled after each failed attempt."""
    return datetime.timedelta(seconds=conf.CAMPAIGN_RETRY_SECONDS * 2 ** (attempts - 1))


def _fail(run: Run, owner: str, error: str) -> str:
    """A failed attempt: due again after the back-off, or the run fails after the last."""
    now = timezone.now()
    attempts = run.attempts + 1
    if attempts >= conf.CAMPAIGN_MAX_ATTEMPTS:
        fields = {"state": Run.State.FAILED, "next_due_at": None, "finished_at": now}
    else:
        fields = {"next_due_at": now + retry_delay(attempts)}
    state = _move(run, owner, {**fields, "step": run.step, "attempts": attempts, "last_error": error})
    note_failed_step(run)
    return state or LOST


def _release(run: Run, owner: str) -> str | None:
    return _move(run, owner, {"step": run.step})


def _move(run: Run, owner: str, fields: dict, *, keep_lease: bool = False) -> str | None:
    """Compare-and-set the run from the (state, step, version) this worker holds; returns the
    new state, or None when something else moved it first."""
    fields = {"attempts": 0, "last_error": "", **fields}
    if not keep_lease:
        fields.update(lease_owner="", lease_until=None)
    moved = Run.objects.filter(
        pk=run.pk, state=run.state, step=run.step_id, version=run.version, lease_owner=owner,
    ).update(version=F("version") + 1, **fields)
    if not moved:
        return None
    for name, value in fields.items():
        setattr(run, name, value)
    run.version += 1
    return run.state


def leave_live_run(run_id: int, *, state: str = Run.State.LEFT, reason: str = "") -> bool:
    """End a live run wherever it is (a goal, a merge): one conditional UPDATE, so it and a
    worker moving the same run cannot both win."""
    return bool(Run.objects.filter(pk=run_id, state__in=LIVE_STATES).update(
        state=state, next_due_at=None, finished_at=timezone.now(), lease_owner="", lease_until=None,
        last_error=reason, version=F("version") + 1,
    ))


def resolve_unknown_step(log: StepLog, *, acted: bool) -> bool:
    """A person's answer for a step left unknown: it did act (the run moves on) or it did
    not (the step is done again). Returns False when the log was not unknown any more."""
    with transaction.atomic():
        if acted:
            changed = StepLog.objects.filter(pk=log.pk, state=StepLog.State.UNKNOWN).update(
                state=StepLog.State.DONE, result={"resolved": "acted"},
            )
        else:
            changed = StepLog.objects.filter(pk=log.pk, state=StepLog.State.UNKNOWN).update(
                state=StepLog.State.FAILED, error=_("Resolved by hand: it did not act."),
            )
        if changed:
            Run.objects.filter(pk=log.run_id, step=log.step_id, state__in=LIVE_STATES).update(
                next_due_at=timezone.now(), last_error="", version=F("version") + 1,
            )
            wake_engine()
    return bool(changed)
