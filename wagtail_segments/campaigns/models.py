"""Campaigns, their steps, the runs of contacts through them and the log of each step run."""

from __future__ import annotations

import uuid

import swapper
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from wagtail_segments.contacts.models import Contact
from wagtail_segments.segments.models import Segment


class CampaignQuerySet(models.QuerySet):
    def enrolling(self, now=None) -> "CampaignQuerySet":
        """Campaigns that take new contacts now: active and inside their start and end."""
        now = now or timezone.now()
        return self.filter(
            Q(starts_at__isnull=True) | Q(starts_at__lte=now),
            Q(ends_at__isnull=True) | Q(ends_at__gt=now),
            status=Campaign.Status.ACTIVE,
        )


class Campaign(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused: runs are held where they are")
        FINISHED = "finished", _("Finished")

    class Reentry(models.TextChoices):
        ONCE = "once", _("Once ever")
        AFTER_FINISHING = "after_finishing", _("Again after finishing")
        AFTER_DAYS = "after_days", _("Again after a number of days since the last entry")

    name = models.CharField(_("name"), max_length=255)
    description = models.TextField(_("description"), blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    starts_at = models.DateTimeField(_("starts"), null=True, blank=True)
    ends_at = models.DateTimeField(_("ends"), null=True, blank=True)
    reentry = models.CharField(_("re-entry"), max_length=20, choices=Reentry.choices, default=Reentry.ONCE)
    reentry_days = models.PositiveIntegerField(_("re-entry after (days)"), null=True, blank=True)
    entry_segment = models.ForeignKey(
        Segment, verbose_name=_("enters when joining segment"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="entry_campaigns",
    )
    # Segment as source: its members when the campaign is activated, then whoever joins.
    entry_segment_members = models.BooleanField(
        _("also enrol the segment's members when activated"), default=False,
    )
    entry_form = models.ForeignKey(
        swapper.get_model_name("wagtailcore", "Page"), verbose_name=_("enters when submitting form"),
        null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
    )
    entry_page = models.ForeignKey(
        swapper.get_model_name("wagtailcore", "Page"), verbose_name=_("enters when visiting page"),
        null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
    )
    entry_page_descendants = models.BooleanField(_("or any page under it"), default=False)
    entry_tag = models.CharField(_("enters when tagged"), max_length=100, blank=True)
    # Marketing messages go out only inside the window (weekdays 0 = Monday; empty: any day),
    # in the contact's time zone when known, else the site's.
    send_days = models.JSONField(_("send on days"), default=list, blank=True)
    send_from = models.TimeField(_("send from"), null=True, blank=True)
    send_until = models.TimeField(_("send until"), null=True, blank=True)
    activated_at = models.DateTimeField(_("activated"), null=True, blank=True, editable=False)
    paused_at = models.DateTimeField(_("paused"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    objects = CampaignQuerySet.as_manager()

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["name"]
        permissions = [
            ("activate_campaign", _("Can activate a campaign")),
            ("send_broadcast", _("Can send a broadcast")),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from .steps import validate_tree

        problems = []
        if self.reentry == self.Reentry.AFTER_DAYS and not self.reentry_days:
            problems.append(_("Say after how many days a contact may enter again."))
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            problems.append(_("The campaign must end after it starts."))
        if self.pk:
            problems += validate_tree(self)
        if problems:
            raise ValidationError(problems)

    def first_step(self) -> "Step | None":
        # Goals sit beside the tree; removed steps are kept only for their history.
        return self.steps.filter(parent__isnull=True).exclude(kind__in=("goal", "removed")).first()


class Step(models.Model):
    """One node of a campaign's tree. ``key`` is its stable id: it survives edits, and runs,
    logs and later the editor refer to a step by it. ``kind`` names a step kind of the
    registry in steps.py (free text, so new kinds need no migration)."""

    class Branch(models.TextChoices):
        """The usual branch names; a split names its own (steps.py checks them per kind)."""

        NEXT = "next", _("Next")
        YES = "yes", _("Yes")
        NO = "no", _("No")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="steps")
    key = models.UUIDField(_("stable id"), default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=255, blank=True)
    parent = models.ForeignKey(
        "self", verbose_name=_("after step"), null=True, blank=True, on_delete=models.CASCADE,
        related_name="children",
    )
    # No choices: which names a step's children may use depends on the parent's kind and
    # settings (a split's labels), so steps.validate_tree checks them.
    branch = models.CharField(_("branch"), max_length=10, default=Branch.NEXT)
    kind = models.CharField(_("kind"), max_length=30)
    config = models.JSONField(_("settings"), default=dict, blank=True)

    class Meta:
        verbose_name = _("step")
        verbose_name_plural = _("steps")
        ordering = ["campaign", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["parent", "branch"], name="wsg_step_one_child_per_branch"),
        ]

    def __str__(self) -> str:
        from .steps import step_label

        return step_label(self)

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from .steps import step_problems

        problems = step_problems(self)
        if problems:
            raise ValidationError({"config": problems})

    def child(self, branch: str = Branch.NEXT) -> "Step | None":
        return self.children.filter(branch=branch).first()


LIVE_STATES = ("active", "waiting")


class RunQuerySet(models.QuerySet):
    def live(self) -> "RunQuerySet":
        return self.filter(state__in=LIVE_STATES)

    def due(self, now=None) -> "RunQuerySet":
        """Live runs of active campaigns whose step is due and whose lease is free or expired."""
        now = now or timezone.now()
        return self.live().filter(
            Q(lease_until__isnull=True) | Q(lease_until__lt=now),
            next_due_at__lte=now,
            campaign__status=Campaign.Status.ACTIVE,
        )


class Run(models.Model):
    """One contact's way through one campaign: the truth the engine works from (tasks only
    wake it). Every change of state or step is a compare-and-set on ``version``."""

    class State(models.TextChoices):
        ACTIVE = "active", _("Active: its step is due")
        WAITING = "waiting", _("Waiting")
        COMPLETED = "completed", _("Completed")
        LEFT = "left", _("Left (goal reached or left by a step)")
        FAILED = "failed", _("Failed")
        MERGED = "merged", _("Ended by a contact merge")

    id = models.BigAutoField(primary_key=True)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="runs")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="campaign_runs")
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.ACTIVE)
    # RESTRICT: a step with runs on it is not deleted until someone says where they go
    # (deleting the whole campaign deletes its runs, and is allowed).
    step = models.ForeignKey(Step, null=True, blank=True, on_delete=models.RESTRICT, related_name="runs")
    # None for a run that is not due by time: finished, or held on a step whose outcome is unknown.
    next_due_at = models.DateTimeField(_("next due"), null=True, blank=True)
    lease_owner = models.CharField(max_length=64, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(_("failed attempts at this step"), default=0)
    version = models.PositiveIntegerField(default=0)
    last_error = models.TextField(_("last error"), blank=True)
    source = models.CharField(_("entered by"), max_length=20, blank=True)
    # When the run reached its step, and when it finished the step before (a decision counts
    # what the contact did since then).
    reached_step_at = models.DateTimeField(_("reached its step"), null=True, blank=True)
    previous_step_at = models.DateTimeField(_("finished the step before"), null=True, blank=True)
    # The branch each split sent this run down, by the split's step key.
    branches = models.JSONField(_("split branches"), default=dict, blank=True)
    entered_at = models.DateTimeField(_("entered"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    objects = RunQuerySet.as_manager()

    class Meta:
        verbose_name = _("campaign run")
        verbose_name_plural = _("campaign runs")
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "contact"], condition=Q(state__in=LIVE_STATES),
                name="wsg_one_live_run_per_contact",
            ),
        ]
        indexes = [
            models.Index(fields=["next_due_at"], condition=Q(state__in=LIVE_STATES), name="wsg_run_due"),
            models.Index(fields=["contact", "campaign"], name="wsg_run_contact"),
        ]

    def __str__(self) -> str:
        return _("%(contact)s in %(campaign)s (%(state)s)") % {
            "contact": self.contact, "campaign": self.campaign, "state": self.get_state_display(),
        }

    @property
    def is_live(self) -> bool:
        return self.state in LIVE_STATES


class StepLog(models.Model):
    """A step executed for a run, written and committed *before* its side effect: a second
    worker finds it and does not act again."""

    class State(models.TextChoices):
        CLAIMED = "claimed", _("Started")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed (will be retried)")
        UNKNOWN = "unknown", _("Outcome unknown: a worker stopped while acting")

    id = models.BigAutoField(primary_key=True)
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="logs")
    step = models.ForeignKey(Step, on_delete=models.RESTRICT, related_name="logs")
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.CLAIMED)
    claimed_by = models.CharField(max_length=64, blank=True)
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    result = models.JSONField(_("result"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("step log")
        verbose_name_plural = _("step logs")
        constraints = [models.UniqueConstraint(fields=["run", "step"], name="wsg_one_log_per_run_step")]
        indexes = [
            # "steps of campaign C that failed in the last hour" (campaigns/health.py), asked
            # after every failed attempt: failed logs are few, so this stays small however
            # many steps were done, and each of the campaign's steps is one range probe.
            models.Index(fields=["step", "finished_at"], condition=Q(state="failed"), name="wsg_steplog_failed"),
            # the unknown sends a person must resolve, counted on every campaign's builder
            models.Index(fields=["run"], condition=Q(state="unknown"), name="wsg_steplog_unknown"),
        ]

    def __str__(self) -> str:
        return _("%(step)s for run %(run)s: %(state)s") % {
            "step": self.step, "run": self.run_id, "state": self.get_state_display(),
        }
