"""Campaign actions for end-to-end tests and benchmarks, registered in a real worker.

A qcluster child started by tests/qcluster.py runs with ``tests.qcluster_settings``, whose
``INSTALLED_APPS`` holds ``tests.e2e_app.E2EActions``: its ``ready()`` imports this module,
so the worker's action registry knows these names (the test process imports it itself).

Both act outside the database, as an email does: the engine commits the step's log as
"claimed" before calling them, so a worker killed mid-action leaves the step "unknown".
"""

from __future__ import annotations

import os
import time

from wagtail_segments.campaigns.actions import Action


class RecordSideEffect(Action):
    """Sleeps ``sleep`` seconds, then appends "<run id> <step id> <unix time>" to the file
    ``path``: the file is the outside world, where a second execution would show."""

    name = "e2e_record"
    label = "Record a side effect (tests)"

    def execute(self, run, config):
        time.sleep(float(config.get("sleep", 0)))
        line = f"{run.pk} {run.step_id} {time.time():.6f}\n"
        fd = os.open(config["path"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode())  # one write with O_APPEND: lines of two workers never mix
        finally:
            os.close(fd)
        return {"recorded": True}
