"""Moving a run from outside the engine's claim: an event answering a decision, an editor
deleting the step it waits on.

The engine moves the runs it has claimed (executor._move, which also checks the lease).
Anything else moves a run by the same compare-and-set on (state, step, version), without a
lease of its own: it clears whatever lease the run had, so a worker that claimed the run
meanwhile loses its next compare-and-set and stops. Exactly one of them wins.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .models import Run, Step, StepLog


def move_run(run: Run, fields: dict, *, done_step: Step | None = None, result: dict | None = None) -> bool:
    """Move ``run`` from the (state, step, version) it was read with to ``fields``; when it
    moved and ``done_step`` is given, that step's log is marked done with ``result``.
    Returns False when something else moved the run first (nothing is changed then)."""
    fields = {"attempts": 0, "last_error": "", "lease_owner": "", "lease_until": None, **fields}
    with transaction.atomic():
        moved = Run.objects.filter(
            pk=run.pk, state=run.state, step=run.step_id, version=run.version,
        ).update(version=F("version") + 1, **fields)
        if not moved:
            return False
        if done_step is not None:
            StepLog.objects.update_or_create(run=run, step=done_step, defaults={
                "state": StepLog.State.DONE, "result": result or {}, "error": "", "claimed_by": "",
                "finished_at": timezone.now(),
            })
    for name, value in fields.items():
        setattr(run, name, value)
    run.version += 1
    return True
