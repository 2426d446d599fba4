"""Many runs through one side-effect step at once: the email path at hundreds per second.

An action that defines ``execute_batch(runs, config) -> (results, record)`` (``send_email``)
acts for every claimed run that is due on the same step of it together, with the same
guarantees as the one-run path of executor.py, in a fixed number of transactions whatever
the batch's size:

1. runs outside the action's window are deferred (``deferred_until``), one by one;
2. one transaction locks the runs still as this worker claimed them and inserts their
   ``StepLog`` rows as *claimed* (unique on (run, step)), committed before any side effect.
   A run that already has a log for the step (a retry, or a worker that died mid-send) goes
   to the one-run path, which turns a claimed log into *unknown*, never into a second send;
3. ``execute_batch`` acts (for email: one render per contact, one SMTP connection) and
   returns each run's result or the exception that failed it, plus ``record``, a function
   that writes what the action did (deliveries, events, touchpoints);
4. one transaction calls ``record``, marks the logs done (or failed) and moves the runs that
   are still this worker's to their next step with one UPDATE (they all stood on the same
   step, so they all go to the same place; when that place is a decision, whose arrival
   reads each contact's history, they move one by one). A goal that took a run mid-send wins: its log is
   done, the run stays where the goal put it. Failed runs retry with the engine's back-off.

Runs whose next step is due at once come back to the caller for executor.execute_run.
"""

from __future__ import annotations

import json
import logging

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from wagtail_segments.rows import insert_rows

from . import executor
from .actions import get_action
from .claims import with_campaigns_and_steps
from .models import LIVE_STATES, Campaign, Run, Step, StepLog

logger = logging.getLogger(__name__)


def batchable(action) -> bool:
    return action is not None and not action.transactional and hasattr(action, "execute_batch")


def execute_batches(runs: list[Run], owner: str) -> list[Run]:
    """Act for the runs due on a batchable step, by step; returns the runs left for the
    one-run path (other steps, steps already logged, runs that go on to a due step)."""
    now = timezone.now()
    groups: dict[int, tuple[object, list[Run]]] = {}
    rest = []
    for run in runs:
        step = run.step
        due = step is not None and step.kind == "action" and run.next_due_at is not None and run.next_due_at <= now
        if not due:
            rest.append(run)
            continue
        if step.pk not in groups:
            groups[step.pk] = (get_action(step.config), [])
        action, group = groups[step.pk]
        if batchable(action):
            group.append(run)
        else:
            rest.append(run)
    for action, group in groups.values():
        if not group:
            continue
        try:
            rest += _execute_group(group, action, owner)
        except Exception:
            # As on the one-run path: the leases run out, the runs are claimed again and
            # their step logs say what was done.
            logger.exception("Campaign runs %s stopped on an unexpected error", [run.pk for run in group])
    return rest


def _execute_group(runs: list[Run], action, owner: str) -> list[Run]:
    step = runs[0].step
    config = step.config or {}
    now = timezone.now()
    ready = []
    for run in runs:
        later = action.deferred_until(run, config, now)
        if later is not None and later > now:
            executor.defer(run, owner, later)
        else:
            ready.append(run)
    if not ready:
        return []
    claimed, logged = _claim_logs(ready, step, owner)
    if not claimed:
        return logged
    try:
        results, record = action.execute_batch(claimed, config)
    except Exception as error:  # noqa: BLE001  (the whole batch failed: each run retries)
        message = f"{type(error).__name__}: {error}"
        logger.warning("Campaign step %s failed for %s runs: %s", step.key, len(claimed), message)
        StepLog.objects.filter(run__in=claimed, step=step, state=StepLog.State.CLAIMED, claimed_by=owner).update(
            state=StepLog.State.FAILED, error=message, finished_at=timezone.now(),
        )
        for run in claimed:
            executor._fail(run, owner, message)
        return logged
    return logged + _finish(claimed, step, action, owner, results, record)


def _hold(runs: list[Run], owner: str) -> list[Run]:
    """Lock the rows of the runs still as this worker claimed them; returns those runs."""
    rows = set(
        Run.objects.select_for_update(of=("self",)).filter(
            pk__in=[run.pk for run in runs], lease_owner=owner, state__in=LIVE_STATES,
            campaign__status=Campaign.Status.ACTIVE,  # a pause holds runs already claimed, too
        ).order_by("pk").values_list("pk", "version", "step_id")
    )
    return [run for run in runs if (run.pk, run.version, run.step_id) in rows]


def _claim_logs(runs: list[Run], step: Step, owner: str) -> tuple[list[Run], list[Run]]:
    """Commit a claimed log for each run without one; returns (claimed, already logged)."""
    now = timezone.now()
    try:
        with transaction.atomic():
            held = _hold(runs, owner)
            logged_ids = set(
                StepLog.objects.filter(run__in=[run.pk for run in held], step=step).values_list("run_id", flat=True)
            )
            fresh = [run for run in held if run.pk not in logged_ids]
            insert_rows(StepLog, {"run_id": [run.pk for run in fresh]},
                        {"step_id": step.pk, "claimed_by": owner, "started_at": now})
    except IntegrityError:
        return [], runs  # a log appeared meanwhile: the one-run path sorts each out
    return fresh, [run for run in held if run.pk in logged_ids]


def _finish(claimed: list[Run], step: Step, action, owner: str, results: dict, record) -> list[Run]:
    now = timezone.now()
    done = [run for run in claimed if isinstance(results.get(run.pk), dict)]
    failed = [(run, results.get(run.pk)) for run in claimed if not isinstance(results.get(run.pk), dict)]
    fields = executor.advance_fields(step, action, now)
    keep_lease = fields["state"] == Run.State.ACTIVE
    with transaction.atomic():
        record()
        logged = set()
        for result, ids in _alike(done, results):  # one UPDATE per distinct result, not per run
            claimed_logs = StepLog.objects.filter(
                run__in=ids, step=step, state=StepLog.State.CLAIMED, claimed_by=owner,
            )
            logged.update(claimed_logs.values_list("run_id", flat=True))
            claimed_logs.update(state=StepLog.State.DONE, result=result, finished_at=now)
        for run, error in failed:
            StepLog.objects.filter(run=run, step=step, state=StepLog.State.CLAIMED, claimed_by=owner).update(
                state=StepLog.State.FAILED, error=_error_text(error), finished_at=now,
            )
        moving = [run for run in _hold(done, owner) if run.pk in logged]
        if executor.arrival_needs_the_run(step):
            # The next step is a decision: each run's arrival reads what its contact did.
            states = [executor._advance(run, owner, step, action) for run in moving]
            moving = [run for run, state in zip(moving, states) if state == Run.State.ACTIVE]
            keep_lease = True
        else:
            move = {"attempts": 0, "last_error": "", **fields, "previous_step_at": F("reached_step_at")}
            if not keep_lease:
                move.update(lease_owner="", lease_until=None)
            Run.objects.filter(pk__in=[run.pk for run in moving]).update(version=F("version") + 1, **move)
    for run, error in failed:
        executor._fail(run, owner, _error_text(error))
    if not keep_lease or not moving:
        return []
    return with_campaigns_and_steps(list(
        Run.objects.filter(pk__in=[run.pk for run in moving], lease_owner=owner)
        .select_related("contact").order_by("next_due_at", "pk")
    ))


def _alike(runs: list[Run], results: dict) -> list[tuple[dict, list[int]]]:
    """The runs grouped by identical result (a batch of sends has a handful: sent, or
    skipped for one of a few reasons)."""
    groups: dict[str, tuple[dict, list[int]]] = {}
    for run in runs:
        key = json.dumps(results[run.pk], sort_keys=True, default=str)
        groups.setdefault(key, (results[run.pk], []))[1].append(run.pk)
    return list(groups.values())


def _error_text(error) -> str:
    if isinstance(error, Exception):
        return f"{type(error).__name__}: {error}"
    return _("The action returned no result for this run.")
