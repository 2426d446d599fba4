"""Contacts, companies and the event log: the facts everything else is derived from."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import swapper
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from taggit.managers import TaggableManager
from taggit.models import TagBase, TaggedItemBase

from .indexes import NullsLastIndex
from .phone import phone_e164


def normalise_email(value: str | None) -> str:
    """The form an email is compared in: trimmed and case-folded, '' when absent."""
    return (value or "").strip().casefold()


class Company(models.Model):
    name = models.CharField(_("name"), max_length=255)
    domain = models.CharField(_("domain"), max_length=255, blank=True, db_index=True)
    properties = models.JSONField(_("properties"), default=dict, blank=True, encoder=DjangoJSONEncoder)

    class Meta:
        verbose_name = _("company")
        verbose_name_plural = _("companies")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ContactTag(TagBase):
    """Tags of contacts only, kept apart from Wagtail's shared tag table."""

    class Meta:
        verbose_name = _("contact tag")
        verbose_name_plural = _("contact tags")


class TaggedContact(TaggedItemBase):
    tag = models.ForeignKey(ContactTag, on_delete=models.CASCADE, related_name="tagged_contacts")
    content_object = models.ForeignKey("Contact", on_delete=models.CASCADE, related_name="tagged_items")

    class Meta:
        verbose_name = _("contact tag")
        verbose_name_plural = _("contact tags")
        constraints = [
            models.UniqueConstraint(fields=["content_object", "tag"], name="wsg_unique_contact_tag"),
        ]


class ContactQuerySet(models.QuerySet):
    def live(self) -> "ContactQuerySet":
        """Contacts that were not merged into another one."""
        return self.filter(merged_into__isnull=True)

    def identified(self) -> "ContactQuerySet":
        return self.filter(email_key__isnull=False)

    def anonymous(self) -> "ContactQuerySet":
        return self.filter(email_key__isnull=True, user__isnull=True)

    def with_phone(self, numbers: Iterable[str]) -> "ContactQuerySet":
        """The contacts whose phone is one of ``numbers`` (E.164): an indexed lookup."""
        return self.filter(phone_e164__in=list(numbers)).exclude(phone_e164="")

    def with_email(self, email: str) -> "ContactQuerySet":
        """The contact with this email, in any case and spacing; none for an empty email."""
        key = normalise_email(email)
        return self.filter(email_key=key) if key else self.none()


class Contact(models.Model):
    uuid = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    email = models.EmailField(_("email"), max_length=254, blank=True)
    # The comparison key behind "one contact per email": trimmed, case-folded, NULL when absent.
    email_key = models.CharField(max_length=254, null=True, blank=True, unique=True, editable=False)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="segments_contact",
    )
    first_name = models.CharField(_("first name"), max_length=150, blank=True)
    last_name = models.CharField(_("last name"), max_length=150, blank=True)
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    # ``phone`` in E.164, blank when it is not a valid number (contacts/phone.py): what an
    # inbound text's number is looked up by. Set on every write of ``phone``.
    phone_e164 = models.CharField(_("phone (E.164)"), max_length=16, blank=True, editable=False)
    company = models.ForeignKey(
        Company, verbose_name=_("company"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="contacts",
    )
    properties = models.JSONField(_("properties"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    points = models.IntegerField(_("points"), default=0)
    country = models.CharField(_("country"), max_length=2, blank=True)
    # When the contact was first recorded: its first visit, or its import or creation.
    first_seen = models.DateTimeField(_("first seen"), default=timezone.now)
    # Empty until the contact's first own event (VISIT_KINDS): a contact imported, added by
    # hand or created by code has none, so "seen in the last N days" does not match a list
    # imported this morning. Only the pass over new events moves it.
    # Indexed by wsg_contact_listing_order (Meta), which serves the listing's order and the
    # date rules' ranges alike: one index for every visit's update to maintain, not two.
    last_seen = models.DateTimeField(_("last seen"), null=True, blank=True)
    time_zone = models.CharField(
        _("time zone"), max_length=64, blank=True, help_text=_("An IANA name such as Europe/Paris; empty: the site's."),
    )
    do_not_email = models.BooleanField(_("do not email"), default=False)
    do_not_email_reason = models.CharField(_("reason"), max_length=255, blank=True)
    do_not_sms = models.BooleanField(_("do not send SMS"), default=False)
    do_not_sms_reason = models.CharField(_("reason"), max_length=255, blank=True)
    # A merged-away contact stays as an empty row so that old cookies still resolve.
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_from",
        editable=False,
    )

    tags = TaggableManager(through=TaggedContact, blank=True, verbose_name=_("tags"))

    objects = ContactQuerySet.as_manager()

    # Wagtail's reference index ("usage" of pages, images, snippets) has nothing to learn from
    # contacts, and indexing them would cost several statements on every contact save,
    # a visitor's first page view included.
    wagtail_reference_index_ignore = True

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        # Exporting takes personal data out of the site: a permission apart from viewing.
        # Erasing deletes everything held about a person, beyond what deleting the row does.
        permissions = [("export_contacts", _("Can export contacts")), ("erase_contact", _("Can erase a contact"))]
        # Never-seen contacts last on every database (PostgreSQL puts NULLs first when descending).
        ordering = [models.F("last_seen").desc(nulls_last=True), "-pk"]
        indexes = [
            # The admin's contacts listing in that order: its first page is read from the index
            # instead of sorting every contact (a plain last_seen index scanned backwards gives
            # NULLs first on PostgreSQL). Range conditions on last_seen (date rules) use it too.
            NullsLastIndex(models.F("last_seen").desc(nulls_last=True), models.F("id").desc(),
                           name="wsg_contact_listing_order"),
            # An inbound text's contacts (messaging/sms_receiving.py). Partial: most contacts
            # (every anonymous visitor) have no phone, and their inserts skip the index.
            models.Index(fields=["phone_e164"], condition=~Q(phone_e164=""), name="wsg_contact_phone_e164"),
        ]

    def __str__(self) -> str:
        name = self.full_name
        if name and self.email:
            return f"{name} <{self.email}>"
        return name or self.email or _("Anonymous contact %(id)s") % {"id": str(self.uuid)[:8]}

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)

    @property
    def is_anonymous(self) -> bool:
        return not self.email_key and not self.user_id

    def clean(self) -> None:
        """One contact per email, ignoring case and spaces: a clear form error, not a 500."""
        super().clean()
        clash = Contact.objects.with_email(self.email).exclude(pk=self.pk).first()
        if clash is not None:
            raise ValidationError({"email": _("Another contact (%(other)s) has this email.") % {"other": clash}})

    def save(self, *args, **kwargs):
        self.email = (self.email or "").strip()
        self.email_key = normalise_email(self.email) or None
        update_fields = kwargs.get("update_fields")
        if update_fields is None or "phone" in update_fields:
            self.phone_e164 = phone_e164(self.phone)
        if update_fields and "email" in update_fields:
            kwargs["update_fields"] = {*kwargs["update_fields"], "email_key"}
        if update_fields and "phone" in update_fields:
            kwargs["update_fields"] = {*kwargs["update_fields"], "phone_e164"}
        super().save(*args, **kwargs)


class EventKind(models.TextChoices):
    """The kinds the app records. The column is free text: later features and hosts add kinds."""

    PAGE_VIEW = "page_view", _("Page view")
    FORM_SUBMISSION = "form_submission", _("Form submission")
    TIME_ON_PAGE = "time_on_page", _("Time on page")
    CUSTOM = "custom", _("Custom")
    LOGIN = "login", _("Login")
    MERGE = "merge", _("Contacts merged")
    SEGMENT_ENTERED = "segment_entered", _("Entered a segment")
    SEGMENT_LEFT = "segment_left", _("Left a segment")
    TOUCHPOINT = "touchpoint", _("Touchpoint")
    # What messages did: recorded by messaging, answered by decisions and message rules.
    EMAIL_SENT = "email_sent", _("Email sent")
    EMAIL_DELIVERED = "email_delivered", _("Email delivered")
    EMAIL_OPENED = "email_opened", _("Email opened")
    EMAIL_CLICKED = "email_clicked", _("Email link clicked")
    EMAIL_BOUNCED = "email_bounced", _("Email bounced")
    EMAIL_COMPLAINED = "email_complained", _("Email marked as spam")
    EMAIL_UNSUBSCRIBED = "email_unsubscribed", _("Unsubscribed")
    SMS_SENT = "sms_sent", _("SMS sent")
    SMS_RECEIVED = "sms_received", _("SMS received")
    SMS_OPTED_OUT = "sms_opted_out", _("Opted out of SMS")
    SMS_OPTED_IN = "sms_opted_in", _("Opted in to SMS")
    CONSENT_CONFIRMED = "consent_confirmed", _("Consent confirmed")


# The kinds a visitor's own requests record: only these move a contact's last seen and
# country. Segment changes, merges, touchpoints and what campaigns do are things that happened
# *to* the contact. The beacon's extra kinds (BEACON_CUSTOM_KINDS) count too: see visit_kinds().
VISIT_KINDS = frozenset({
    EventKind.PAGE_VIEW.value, EventKind.FORM_SUBMISSION.value, EventKind.TIME_ON_PAGE.value,
    EventKind.CUSTOM.value, EventKind.LOGIN.value,
})


def contact_field_label(name: str) -> str:
    """A contact field as editors read it: its verbose name, capitalised (lazy, translated).
    Raises FieldDoesNotExist for a name the model has no field for."""
    from django.utils.text import capfirst

    return capfirst(Contact._meta.get_field(name).verbose_name)


def visit_kinds() -> set[str]:
    """The event kinds that show the contact visiting: ``VISIT_KINDS`` and the beacon's extra kinds."""
    from wagtail_segments.conf import settings as conf

    return {*VISIT_KINDS, *conf.BEACON_CUSTOM_KINDS}


def event_kind_label(kind: str) -> str:
    try:
        return EventKind(kind).label
    except ValueError:
        return kind.replace("_", " ").capitalize()


class Event(models.Model):
    """Something a contact did, when. Append-only: rows are deleted only by retention or erasure."""

    id = models.BigAutoField(primary_key=True)
    # No index of its own: wsg_event_contact_kind_time leads with contact. Every index on this
    # table is paid by every tracked page view.
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="events", db_index=False)
    kind = models.CharField(_("kind"), max_length=40)
    time = models.DateTimeField(_("time"), default=timezone.now)
    # Unindexed: sites are almost never deleted, and deleting one may scan the table once.
    site = models.ForeignKey(
        "wagtailcore.Site", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False,
    )
    page = models.ForeignKey(
        swapper.get_model_name("wagtailcore", "Page"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )
    path = models.CharField(_("path"), max_length=2048, blank=True)
    referrer = models.CharField(_("referrer"), max_length=2048, blank=True)
    utm_source = models.CharField(max_length=200, blank=True)
    utm_medium = models.CharField(max_length=200, blank=True)
    utm_campaign = models.CharField(max_length=200, blank=True)
    utm_term = models.CharField(max_length=200, blank=True)
    utm_content = models.CharField(max_length=200, blank=True)
    device = models.CharField(_("device"), max_length=16, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True)
    ip = models.GenericIPAddressField(_("IP address (anonymised)"), null=True, blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True, encoder=DjangoJSONEncoder)

    # Per-contact rows: nothing for Wagtail's reference index, which would slow every write.
    wagtail_reference_index_ignore = True

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        indexes = [
            # "events of kind K for contact C since T" (and on which page: the incremental
            # path answers page-view rules from the index alone)
            models.Index(fields=["contact", "kind", "time", "page"], name="wsg_event_contact_kind_time"),
            # "contacts who viewed page P since T": kind leads so that page-view rules never
            # read the table to check it (docs/scaling.md)
            models.Index(fields=["kind", "page", "time", "contact"], name="wsg_event_kind_page_time"),
            models.Index(fields=["time"], name="wsg_event_time"),
            # "did contact C come from campaign X since T": only page views with UTM values
            # are in it (a minority, and the only views that pay for it), so rules on where
            # visits came from probe a contact's few tagged views from the index alone.
            models.Index(
                fields=["contact", "time", "utm_source", "utm_medium", "utm_campaign"],
                condition=Q(kind="page_view") & (~Q(utm_source="") | ~Q(utm_medium="") | ~Q(utm_campaign="")),
                name="wsg_event_campaign",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind_label} · {self.time:%Y-%m-%d %H:%M}"

    @property
    def kind_label(self) -> str:
        return event_kind_label(self.kind)


class PropertyDefinition(models.Model):
    """A declared contact property: its values are normalised to its type when written."""

    class Type(models.TextChoices):
        TEXT = "text", _("Text")
        NUMBER = "number", _("Number")
        DATE = "date", _("Date")
        BOOLEAN = "boolean", _("Yes/no")

    key = models.SlugField(_("key"), max_length=100, unique=True, allow_unicode=False)
    label = models.CharField(_("label"), max_length=255)
    type = models.CharField(_("type"), max_length=10, choices=Type.choices, default=Type.TEXT)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        verbose_name = _("contact property")
        verbose_name_plural = _("contact properties")
        ordering = ["key"]

    def __str__(self) -> str:
        return self.label or self.key


class ProcessingPosition(models.Model):
    """How far a background pass has read the event log.

    ``position`` is the highest event id it has read; ``gaps`` the ids below it that it has
    not seen yet (their transaction had not committed), as ``[id, first noticed (epoch
    seconds)]`` pairs, read again by each pass until they appear or grow too old
    (contacts/tasks.py)."""

    name = models.CharField(max_length=100, unique=True)
    position = models.BigIntegerField(default=0)
    gaps = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = _("processing position")


class QueuedTask(models.Model):
    """A task that is queued and not yet started, named: the single-flight flag that keeps
    every web process on every host from queueing the same task again (contacts/queued.py).
    Its own row, not the pass's position row, so that a request never waits for a pass's lock."""

    name = models.CharField(max_length=100, unique=True)
    queued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("queued task")


class Touchpoint(models.Model):
    """A contact was touched: a call, meeting or note logged by staff (manual), or an email or
    SMS sent by a campaign (automatic). Segment reminders count from the latest one."""

    class Kind(models.TextChoices):
        CALL = "call", _("Call")
        MEETING = "meeting", _("Meeting")
        NOTE = "note", _("Note")
        EMAIL = "email", _("Email")
        SMS = "sms", _("SMS")

    AUTOMATIC_KINDS = {Kind.EMAIL, Kind.SMS}

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="touchpoints")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    automatic = models.BooleanField(_("automatic"), default=False)
    time = models.DateTimeField(_("time"), default=timezone.now)
    note = models.TextField(_("note"), blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("logged by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )

    # Per-contact rows: nothing for Wagtail's reference index, which would slow every write.
    wagtail_reference_index_ignore = True

    class Meta:
        verbose_name = _("touchpoint")
        verbose_name_plural = _("touchpoints")
        indexes = [models.Index(fields=["contact", "automatic", "time"], name="wsg_touch_contact_time")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.time:%Y-%m-%d}"
