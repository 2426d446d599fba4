"""A campaign's life: activate, pause, resume, finish.

Statuses are changed here rather than by saving the field, because each change has
consequences: activating checks the tree and, for a segment as source, enrols the
segment's members; resuming decides what happens to the runs that fell due meanwhile.

**Resuming without catch-up** (the default) moves each run that fell due while the campaign
was paused later by the length of the pause: the runs go out spread as they would have
been, starting now, instead of all at once. A decision waiting for an answer gets that
time too. ``catch_up=True`` leaves them due: the engine acts on all of them at once.
Runs that were due before the pause began (a backlog) are due at once either way.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from .entry import enrol_segment_members
from .models import Campaign, Run
from .wakeup import wake_engine


def _set(campaign: Campaign, **fields) -> None:
    Campaign.objects.filter(pk=campaign.pk).update(**fields)
    for name, value in fields.items():
        setattr(campaign, name, value)


def activate(campaign: Campaign, user=None) -> int:
    """Start a draft (or finished) campaign: refuses, with every problem (each naming its
    step), a campaign that cannot run; records when; enrols the entry segment's members
    when the segment is the source. Returns how many contacts entered now.

    ``user`` is who activated it, for the campaign's owner when it has none."""
    if campaign.status == Campaign.Status.ACTIVE:
        return 0
    if campaign.status == Campaign.Status.PAUSED:
        raise ValidationError(_("The campaign is paused: resume it instead."))
    campaign.full_clean()  # the campaign's settings and its tree (steps.validate_tree)
    if campaign.entry_segment_members and campaign.entry_segment_id is None:
        raise ValidationError(_("Choose the segment whose members enter."))
    now = timezone.now()
    fields = {"status": Campaign.Status.ACTIVE, "activated_at": now, "paused_at": None}
    if campaign.owner_id is None and user is not None:
        fields["owner"] = user
    _set(campaign, **fields)
    if campaign.entry_segment_members:
        return enrol_segment_members(campaign)
    return 0


def pause(campaign: Campaign) -> None:
    """Hold every run where it is: nothing is executed, no decision is answered and no one
    enters until the campaign is resumed. Goals still end runs."""
    if campaign.status != Campaign.Status.ACTIVE:
        raise ValidationError(_("Only an active campaign can be paused."))
    _set(campaign, status=Campaign.Status.PAUSED, paused_at=timezone.now())


def resume(campaign: Campaign, catch_up: bool = False) -> int:
    """Take a paused campaign up again; returns how many runs were moved later (none with
    ``catch_up``). See the module's docstring for what happens to what fell due."""
    if campaign.status != Campaign.Status.PAUSED:
        raise ValidationError(_("Only a paused campaign can be resumed."))
    now = timezone.now()
    paused_at = campaign.paused_at or now
    moved = 0
    with transaction.atomic():
        if not catch_up and now > paused_at:
            fell_due = Run.objects.live().filter(campaign=campaign, next_due_at__gte=paused_at, next_due_at__lte=now)
            # A version bump, so that a worker still holding one of them stops.
            moved = fell_due.update(next_due_at=F("next_due_at") + (now - paused_at), version=F("version") + 1)
        _set(campaign, status=Campaign.Status.ACTIVE, paused_at=None)
    wake_engine()
    return moved


def finish(campaign: Campaign) -> None:
    """No one enters any more, and runs still inside are held where they are (activate the
    campaign again to let them go on)."""
    _set(campaign, status=Campaign.Status.FINISHED, paused_at=None)
