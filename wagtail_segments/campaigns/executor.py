"""Executing claimed runs, step by step, each step at most once.

For each step a run reaches:

1. *Begin*: with the run's row locked (and its version still the one the claim set), the
   (run, step) ``StepLog`` row is created as ``claimed`` and committed before anything is done.
   If the row is already there:

   - ``done``: a worker acted and died before moving the run; it is moved on now;
   - ``failed``: an earlier attempt failed; this is the retry;
   - ``claimed``: a worker died while acting. A *transactional* action (everything it does
     is in this database, committed together with its "done" mark) left nothing behind and
     is done again; any other action is marked ``unknown`` and the run is held
     (``next_due_at`` empty) for a person to resolve (``resolve_unknown_step``).

2. *Act*: the action runs; a transactional one inside one transaction with the "done" mark,
   which checks that the log is still this worker's claim (else it rolls back).
3. *Move*: a compare-and-set on (state, step, version) takes the run to its next step, or ends
   it. A goal that moved the run meanwhile wins: the set finds nothing and the worker stops.

A failing action retries with the engine's back-off (``attempts``, ``next_due_at``) and, after
``CAMPAIGN_MAX_ATTEMPTS``, the run fails with the error.
"""

from __future__ import annotations

import datetime
import logging

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from wagtail_segments.conf import settings as conf

from .actions import get_action
from .claims import claim_due_runs, new_owner
from .models import LIVE_STATES, Run, Step, StepLog
from .steps import arrival, step_kind
from .wakeup import wake_engine

logger = logging.getLogger(__name__)

# The most steps one claim takes a run through (steps due at once follow each other).
MAX_STEPS_PER_CLAIM = 50
LOST = "lost"  # the run moved under us (a goal, a merge, a lease taken over)
HELD = "held"


class LostClaim(Exception):
    """The step log is no longer this worker's claim: undo what the transaction did."""


def run_due_steps(batch: int | None = None, lease_seconds: float | None = None) -> int:
    """Claim one batch of due runs and execute their steps; returns how many were claimed."""
    owner = new_owner()
    runs = claim_due_runs(batch, lease_seconds, owner)
    for run in runs:
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
            return _fail(run, owner, None, _("“%(step)s” is not a step a run can stand on.") % {"step": step})
        begun = _begin(run, step, owner)
        if begun in (LOST, HELD):
            return begun
        log, act = begun
        action = get_action(step.config) if step.kind == "action" else None
        if act:
            outcome = _act(run, step, log, owner, action)
            if outcome is not None:
                return outcome
        if action is not None and action.ends_run:
            return _move(run, owner, {"state": Run.State.LEFT, "next_due_at": None, "finished_at": now}) or LOST
        fields = arrival(step.child(Step.Branch.NEXT), timezone.now())
        state = _move(run, owner, fields, keep_lease=fields["state"] == Run.State.ACTIVE)
        if state != Run.State.ACTIVE:
            return state or LOST
    return _release(run, owner) or LOST


def _begin(run: Run, step: Step, owner: str):
    """Create or take over the step's log; returns (log, act?) or LOST / HELD."""
    now = timezone.now()
    with transaction.atomic():
        held = Run.objects.select_for_update().filter(
            pk=run.pk, version=run.version, lease_owner=owner, state__in=LIVE_STATES
        )
        if held.values_list("pk", flat=True).first() is None:
            return LOST
        log = StepLog.objects.select_for_update().filter(run=run, step=step).first()
        if log is None:
            log = StepLog.objects.create(run=run, step=step, claimed_by=owner, started_at=now)
            return log, True
        if log.state == StepLog.State.DONE:
            return log, False
        if log.state == StepLog.State.CLAIMED and not _repeatable(step):
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


def _repeatable(step: Step) -> bool:
    """Whether a step a dead worker left half done may simply be done again."""
    if step.kind != "action":
        return True
    action = get_action(step.config)
    return action is None or action.transactional


def _act(run: Run, step: Step, log: StepLog, owner: str, action) -> str | None:
    """Do the step; None when it is done (the caller moves the run on)."""
    claimed = StepLog.objects.filter(pk=log.pk, state=StepLog.State.CLAIMED, claimed_by=owner)
    if step.kind != "action":
        done = claimed.update(state=StepLog.State.DONE, finished_at=timezone.now())
        return None if done else LOST
    if action is None:
        return _fail(run, owner, log, _("“%(action)s” is not an action.") % {"action": step.config.get("action")})
    try:
        if action.transactional:
            with transaction.atomic():
                if claimed.select_for_update().values_list("pk", flat=True).first() is None:
                    raise LostClaim
                result = action.execute(run, step.config)
                claimed.update(state=StepLog.State.DONE, result=result or {}, finished_at=timezone.now())
            return None
        result = action.execute(run, step.config)
    except LostClaim:
        return LOST
    except Exception as error:
        logger.warning("Campaign run %s: step %s failed: %r", run.pk, step.key, error)
        return _fail(run, owner, log, f"{type(error).__name__}: {error}")
    if not claimed.update(state=StepLog.State.DONE, result=result or {}, finished_at=timezone.now()):
        return LOST
    return None


def retry_delay(attempts: int) -> datetime.timedelta:
    """The engine's back-off: CAMPAIGN_RETRY_SECONDS, doubled after each failed attempt."""
    return datetime.timedelta(seconds=conf.CAMPAIGN_RETRY_SECONDS * 2 ** (attempts - 1))


def _fail(run: Run, owner: str, log: StepLog | None, error: str) -> str:
    now = timezone.now()
    if log is not None:
        StepLog.objects.filter(pk=log.pk, state=StepLog.State.CLAIMED, claimed_by=owner).update(
            state=StepLog.State.FAILED, error=error, finished_at=now,
        )
    attempts = run.attempts + 1
    if attempts >= conf.CAMPAIGN_MAX_ATTEMPTS:
        fields = {"state": Run.State.FAILED, "next_due_at": None, "finished_at": now}
    else:
        fields = {"next_due_at": now + retry_delay(attempts)}
    state = _move(run, owner, {**fields, "step": run.step, "attempts": attempts, "last_error": error})
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
