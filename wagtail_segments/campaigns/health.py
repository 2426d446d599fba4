"""The failure pause: a campaign whose steps keep failing stops before it fails every run.

After each failed attempt the executor calls ``note_failed_step``. When more steps of the
campaign failed in the last hour than ``CAMPAIGN_FAILURE_PAUSE_THRESHOLD`` (0: never), the
campaign is paused (status ``paused``, ``paused_at``) and its owner gets an email saying
why, with a link to the campaign in the admin when the admin has a page for it.

Pausing hurts no run: the engine claims only runs of active campaigns, so runs wait where
they are (a failing step keeps its attempts) until someone fixes the cause and resumes.
A "failed step" is a step log in state failed that finished within the hour: a step that
failed and then succeeded on a retry no longer counts.
"""

from __future__ import annotations

import datetime
import logging

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from wagtail_segments.conf import settings as conf

from .models import Campaign, Run, StepLog
from .staff_mail import admin_url, send_staff_email

logger = logging.getLogger(__name__)

WINDOW = datetime.timedelta(hours=1)


def recent_failures(campaign_id: int, now=None) -> QuerySet[StepLog]:
    """The campaign's step logs that failed in the last hour. Asked after every failed
    attempt, so it reads the small partial index of failed logs (``wsg_steplog_failed``),
    one range per step of the campaign, never the log table."""
    since = (now or timezone.now()) - WINDOW
    return StepLog.objects.filter(step__campaign_id=campaign_id, state=StepLog.State.FAILED, finished_at__gte=since)


def recent_failed_steps(campaign_id: int, limit: int | None = None, now=None) -> int:
    """How many steps of the campaign failed in the last hour (counting at most ``limit``)."""
    failed = recent_failures(campaign_id, now).values_list("pk", flat=True)
    return len(failed[:limit]) if limit else failed.count()


def note_failed_step(run: Run) -> bool:
    """Pause the run's campaign if its failures in the last hour pass the threshold;
    returns True when this call paused it. Never raises: the engine's own work comes first."""
    threshold = conf.CAMPAIGN_FAILURE_PAUSE_THRESHOLD
    if not threshold:
        return False
    try:
        failed = recent_failed_steps(run.campaign_id, limit=threshold + 1)
        if failed <= threshold:
            return False
        return pause_for_failures(run.campaign_id, failed, last_error=run.last_error)
    except Exception:
        logger.exception("Could not check the failures of campaign %s", run.campaign_id)
        return False


def pause_for_failures(campaign_id: int, failed: int, *, last_error: str = "") -> bool:
    """Pause an active campaign and tell its owner (once: only the worker whose update
    changes the status mails). Returns True when it paused it."""
    paused = Campaign.objects.filter(pk=campaign_id, status=Campaign.Status.ACTIVE).update(
        status=Campaign.Status.PAUSED, paused_at=timezone.now(),
    )
    if not paused:
        return False
    logger.warning("Campaign %s paused: %s failed steps in the last hour", campaign_id, failed)
    transaction.on_commit(lambda: _tell_owner(campaign_id, failed, last_error))
    return True


def _tell_owner(campaign_id: int, failed: int, last_error: str) -> None:
    campaign = Campaign.objects.select_related("owner").filter(pk=campaign_id).first()
    owner = campaign.owner if campaign else None
    if owner is None or not owner.email or not owner.is_active:
        logger.warning("Campaign %s was paused and has no owner to tell", campaign_id)
        return
    context = {
        "campaign": campaign, "campaign_url": admin_url(campaign, actions=("edit", "inspect")),
        "failed": failed, "threshold": conf.CAMPAIGN_FAILURE_PAUSE_THRESHOLD, "last_error": last_error,
    }
    try:
        send_staff_email([owner], "wagtail_segments/campaigns/campaign_paused", context, subject=lambda c: _(
            "Campaign paused: %(campaign)s") % {"campaign": c["campaign"]})
    except Exception:
        logger.exception("Could not tell the owner of campaign %s that it was paused", campaign_id)
