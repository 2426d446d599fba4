"""The ``send_email`` action: ``{"action": "send_email", "message": <EmailMessage id>,
"only_confirmed": false}``.

Not transactional (an email cannot be taken back): its step log is committed as claimed
before it sends, so a worker that dies mid-send leaves the step *unknown*, never sent twice.
Marketing messages wait for the campaign's send window (``deferred_until``); the gates,
the frequency cap and the rate limit are messaging's (``messaging/sending.py``). A contact
the gates stop is not an error: the step is done with ``status: skipped`` and the reason,
and the run goes on. A send that fails is, and the engine retries it with its back-off.
Runs due on the same email step go out together (``execute_batch``, see batch.py).
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from wagtail_segments.messaging.models import Delivery, EmailMessage, Purpose
from wagtail_segments.messaging.rendering import merge_problems
from wagtail_segments.messaging.sending import Recipient, send_emails
from wagtail_segments.messaging.window import SendWindow, contact_zone, next_opening

from .actions import Action


class EmailNotSent(Exception):
    """The backend refused the message (the engine retries the step)."""


def send_window(campaign) -> SendWindow:
    return SendWindow(tuple(campaign.send_days or ()), campaign.send_from, campaign.send_until)


def marketing_deferral(run, message, now):
    """When a message (email or SMS) to the run's contact may go, if not now: marketing waits
    for the campaign's send window in the contact's time zone; transactional never waits."""
    if message is None or message.purpose != Purpose.MARKETING:
        return None
    return next_opening(send_window(run.campaign), contact_zone(run.contact.time_zone), now)


class SendEmail(Action):
    name = "send_email"
    label = gettext_lazy("Send an email")

    def __init__(self) -> None:
        self._messages: dict[object, EmailMessage | None] = {}

    def message(self, config: dict) -> EmailMessage | None:
        key = config.get("message")
        if key not in self._messages:
            try:
                self._messages[key] = EmailMessage.objects.filter(pk=int(key)).first()
            except (TypeError, ValueError):
                self._messages[key] = None
        return self._messages[key]

    def problems(self, config):
        if config.get("message") in (None, ""):
            return [_("Choose the email to send.")]
        message = self.message(config)
        if message is None:
            name = config.get("message_name") or _("with id %(id)s") % {"id": config.get("message")}
            return [_("The email “%(message)s” no longer exists.") % {"message": name}]
        return merge_problems(message)

    def deferred_until(self, run, config, now):
        return marketing_deferral(run, self.message(config), now)

    def execute(self, run, config):
        results, record = self.execute_batch([run], config)
        with transaction.atomic():
            record()
        result = results[run.pk]
        if isinstance(result, Exception):
            raise result
        return result

    def execute_batch(self, runs, config):
        """Send to every run's contact over one connection; returns ({run id: the step's
        result or the exception that failed it}, the function that writes the outcome).
        A step's delivery is ``Delivery.objects.filter(run_id=…, step_key=…)``."""
        message = self.message(config)
        if message is None:
            raise LookupError(_("The email to send (id %(id)s) no longer exists.") % {"id": config.get("message")})
        recipients = [Recipient(run.contact, run.campaign_id, run.pk, run.step.key) for run in runs]
        batch = send_emails(message, recipients, only_confirmed=bool(config.get("only_confirmed")), record=False)
        results = {}
        for run, delivery in zip(runs, batch.deliveries):
            if delivery.status == Delivery.Status.FAILED:
                results[run.pk] = EmailNotSent(delivery.error)
                continue
            # The delivery is found by (run, step): keeping its id here would make each
            # result different and cost the batch one UPDATE per run.
            result = {"message": message.pk, "status": delivery.status}
            if delivery.reason:
                result["reason"] = delivery.reason
            results[run.pk] = result
        return results, batch.record
