"""Segments and their stored memberships."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from wagtail_segments.contacts.models import Contact

from .fields import RulesField


class SegmentQuerySet(models.QuerySet):
    def active(self) -> "SegmentQuerySet":
        return self.filter(active=True)

    def dynamic(self) -> "SegmentQuerySet":
        return self.filter(kind=Segment.Kind.DYNAMIC)


class Segment(models.Model):
    class Kind(models.TextChoices):
        STATIC = "static", _("Static: members added by hand, import, API or campaign")
        DYNAMIC = "dynamic", _("Dynamic: members follow the rules, plus manual includes and excludes")

    class Match(models.TextChoices):
        ALL = "all", _("All of the rules")
        ANY = "any", _("Any of the rules")

    name = models.CharField(_("name"), max_length=255)
    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    description = models.TextField(_("description"), blank=True)
    active = models.BooleanField(_("active"), default=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.DYNAMIC)
    match = models.CharField(_("match"), max_length=3, choices=Match.choices, default=Match.ALL)
    rules = RulesField(blank=True, verbose_name=_("rules"))

    member_count = models.PositiveIntegerField(_("members"), default=0, editable=False)
    last_rebuilt_at = models.DateTimeField(_("last rebuilt"), null=True, blank=True, editable=False)
    last_rebuild_seconds = models.FloatField(_("rebuild took (s)"), null=True, blank=True, editable=False)
    # Problems found when the rules were last compiled (a deleted page, field or segment).
    rule_problems = models.JSONField(_("rule problems"), default=list, blank=True, editable=False)

    reminder_days = models.PositiveIntegerField(
        _("reminder period (days)"), null=True, blank=True,
        help_text=_("A member not touched within this many days is expired."),
    )
    automatic_touchpoints_count = models.BooleanField(
        _("emails and SMS sent by campaigns count as touchpoints"), default=True,
    )
    # Static segments marked public are offered on the preference page (a newsletter list).
    public = models.BooleanField(
        _("offered on the preference page"), default=False,
        help_text=_("Contacts may join or leave this static segment from the link in every email."),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    objects = SegmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name"]
        # Who a segment holds decides who campaigns reach: a permission apart from editing
        # its name and description (the admin's rule fields and preview check it).
        permissions = [("edit_segment_rules", _("Can edit segment rules"))]

    def __str__(self) -> str:
        return self.name

    @property
    def is_dynamic(self) -> bool:
        return self.kind == self.Kind.DYNAMIC

    def clean(self) -> None:
        from .graph import segment_cycle

        cycle = segment_cycle(self)
        if cycle:
            raise ValidationError(
                {"rules": _("These rules make the segment depend on itself: %(path)s.")
                 % {"path": " → ".join(cycle)}}
            )

    def members(self):
        """The contacts who are members now."""
        return Contact.objects.filter(
            segment_memberships__segment=self, segment_memberships__excluded=False
        )


class Membership(models.Model):
    class Source(models.TextChoices):
        RULE = "rule", _("Rules")
        MANUAL = "manual", _("Added by hand")
        IMPORT = "import", _("Import")
        CAMPAIGN = "campaign", _("Campaign")
        API = "api", _("API")

    id = models.BigAutoField(primary_key=True)
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="memberships")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="segment_memberships")
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, default=Source.RULE)
    added_at = models.DateTimeField(_("added"), default=timezone.now)
    # Removed by hand: the row stays so that the rules cannot bring the contact back.
    excluded = models.BooleanField(_("excluded by hand"), default=False)

    # Per-contact rows: nothing for Wagtail's reference index, which would slow every write.
    wagtail_reference_index_ignore = True

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["segment", "contact"], name="wsg_unique_membership"),
        ]
        indexes = [models.Index(fields=["contact", "segment"], name="wsg_membership_contact")]

    def __str__(self) -> str:
        return _("%(contact)s in %(segment)s") % {"contact": self.contact, "segment": self.segment}


class PendingEvaluation(models.Model):
    """A contact a segment must re-evaluate once its lock is free: the incremental path does
    not wait behind a long rebuild; it leaves the contacts here, and the segment's next
    evaluation takes them (its next rebuild covers them anyway)."""

    id = models.BigAutoField(primary_key=True)
    # No database constraint: checking one would take a share lock on the segment row, and
    # wait for the very rebuild that holds it. Django still deletes these rows with the segment.
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")

    class Meta:
        verbose_name = _("pending evaluation")
        constraints = [
            models.UniqueConstraint(fields=["segment", "contact"], name="wsg_unique_pending_evaluation"),
        ]


class SegmentDailyCount(models.Model):
    """A segment's size on a day, kept for charts."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="daily_counts")
    date = models.DateField(_("date"))
    count = models.PositiveIntegerField(_("members"))

    # Counts, not references: nothing for Wagtail's reference index.
    wagtail_reference_index_ignore = True

    class Meta:
        verbose_name = _("daily segment size")
        constraints = [models.UniqueConstraint(fields=["segment", "date"], name="wsg_unique_daily_count")]
        ordering = ["segment", "date"]
