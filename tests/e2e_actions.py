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


class SendThroughSmtp(Action):
    """One email to the run's contact through Django's SMTP backend, to ``host``:``port``
    (an aiosmtpd sink in tests). The messaging app's ``send_email`` action replaces it once
    it lands: tests name the action in one place (``tests.qcluster.email_step``)."""

    name = "e2e_smtp"
    label = "Send an email over SMTP (tests)"

    def execute(self, run, config):
        from django.core.mail import EmailMessage, get_connection

        connection = get_connection("django.core.mail.backends.smtp.EmailBackend",
                                    host=config["host"], port=int(config["port"]), timeout=10)
        message = EmailMessage(subject=config.get("subject", "Hello"), body=config.get("body", ""),
                               from_email="campaigns@example.com", to=[run.contact.email],
                               connection=connection)
        message.extra_headers["X-Run"] = str(run.pk)
        return {"sent": message.send()}
