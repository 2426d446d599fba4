"""Moving a run from outside the engine's claim: an event answering a decision, an editor
deleting the step it waits on.

The engine moves the runs it has claimed (executor._move, which also checks the lease).
Anything else moves a run by the same compare-and-set on (state, step, version), without a
lease of its own: it clears whatever lease the run had, so a worker that claimed the run
meanwhile loses its next compare-and-set and stops. Exactly one of them wins.
"""

from __future__ import annotations

from django.db.models import F

from .models import Run


def move_run(run: Run, fields: dict) -> bool:
    """Move ``run`` from the (state, step, version) it was read with to ``fields`` (one
    conditional UPDATE). Returns False when something else moved the run first (nothing
    is changed then)."""
    fields = {"attempts": 0, "last_error": "", "lease_owner": "", "lease_until": None, **fields}
    moved = Run.objects.filter(
        pk=run.pk, state=run.state, step=run.step_id, version=run.version,
    ).update(version=F("version") + 1, **fields)
    if not moved:
        return False
    for name, value in fields.items():
        setattr(run, name, value)
    run.version += 1
    return True
