"""Messages (email and SMS), each delivery of one to a contact, consent and suppression."""

from __future__ import annotations

import hashlib
import uuid

import swapper
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from wagtail.fields import StreamField

from wagtail_segments.contacts.models import Contact

from .blocks import EmailBodyBlock


class Purpose(models.TextChoices):
    """Only marketing messages count toward the frequency cap and honour send windows."""

    MARKETING = "marketing", _("Marketing")
    TRANSACTIONAL = "transactional", _("Transactional")


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")


class EmailMessage(models.Model):
    """An email a campaign (or a test send) delivers: subject, preheader and a body of blocks
    with merge fields such as ``{{ first_name|default:"there" }}``."""

    name = models.CharField(_("name"), max_length=255, help_text=_("For editors; contacts never see it."))
    subject = models.CharField(_("subject"), max_length=255)
    preheader = models.CharField(
        _("preheader"), max_length=255, blank=True,
        help_text=_("The line mail programs show after the subject."),
    )
    body = StreamField(EmailBodyBlock(), verbose_name=_("body"), blank=True)
    purpose = models.CharField(_("purpose"), max_length=15, choices=Purpose.choices, default=Purpose.MARKETING)
    from_email = models.CharField(
        _("from"), max_length=255, blank=True, help_text=_("Empty: the site's DEFAULT_FROM_EMAIL."),
    )
    reply_to = models.EmailField(_("reply to"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("email message")
        verbose_name_plural = _("email messages")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """Broken merge fields are an error here, naming the message, not at send time."""
        from django.core.exceptions import ValidationError

        from .rendering import merge_problems

        problems = merge_problems(self)
        if problems:
            raise ValidationError(problems)


class SmsMessage(models.Model):
    name = models.CharField(_("name"), max_length=255)
    body = models.TextField(_("text"), help_text=_("Merge fields work here too, e.g. {{ first_name }}."))
    purpose = models.CharField(_("purpose"), max_length=15, choices=Purpose.choices, default=Purpose.MARKETING)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("SMS message")
        verbose_name_plural = _("SMS messages")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Delivery(models.Model):
    """One message to one contact: what was sent, where its links may go, what came back.

    ``token`` is the public id in the open pixel, click and unsubscribe links (always signed
    as well). Campaign, run and step are plain values, not foreign keys: messaging stands
    below campaigns, and a delivery outlives the run that made it.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Being sent")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Not sent")

    id = models.BigAutoField(primary_key=True)
    token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    channel = models.CharField(_("channel"), max_length=5, choices=Channel.choices, default=Channel.EMAIL)
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="deliveries")
    email_message = models.ForeignKey(
        EmailMessage, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries",
    )
    sms_message = models.ForeignKey(
        SmsMessage, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries",
    )
    purpose = models.CharField(_("purpose"), max_length=15, choices=Purpose.choices, default=Purpose.MARKETING)
    campaign_id = models.BigIntegerField(_("campaign"), null=True, blank=True)
    run_id = models.BigIntegerField(_("campaign run"), null=True, blank=True)
    step_key = models.UUIDField(_("campaign step"), null=True, blank=True)
    test = models.BooleanField(_("test send"), default=False)
    to_address = models.CharField(_("to"), max_length=254)
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(_("why not sent"), max_length=255, blank=True)
    error = models.TextField(_("error"), blank=True)
    # The URLs the message held: the click redirect goes to one of these, never elsewhere.
    links = models.JSONField(_("links"), default=list, blank=True)
    provider_message_id = models.CharField(_("provider message id"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    opened_at = models.DateTimeField(_("first opened"), null=True, blank=True)
    clicked_at = models.DateTimeField(_("first clicked"), null=True, blank=True)

    wagtail_reference_index_ignore = True

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        indexes = [
            # the frequency cap: marketing messages sent to a contact since T
            models.Index(fields=["contact", "purpose", "sent_at"], name="wsg_delivery_cap"),
            models.Index(
                fields=["provider_message_id"], condition=~Q(provider_message_id=""), name="wsg_delivery_provider_id",
            ),
            models.Index(fields=["campaign_id", "sent_at"], name="wsg_delivery_campaign"),
            # a run's deliveries, and a step's: Delivery.objects.filter(run_id=…, step_key=…)
            models.Index(fields=["run_id", "step_key"], name="wsg_delivery_run_step"),
        ]

    def __str__(self) -> str:
        return _("%(channel)s to %(address)s (%(status)s)") % {
            "channel": self.get_channel_display(), "address": self.to_address, "status": self.get_status_display(),
        }


def email_hash(email: str) -> str:
    """The suppression key: SHA-256 of the trimmed, lower-cased address (no secret in it, so
    that rotating SECRET_KEY never lets an unsubscribed address be mailed again)."""
    return hashlib.sha256((email or "").strip().lower().encode()).hexdigest()


class Suppression(models.Model):
    """An address that must never be mailed again, kept as a hash so it outlives erasure."""

    email_hash = models.CharField(max_length=64, unique=True)
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("suppressed address")
        verbose_name_plural = _("suppressed addresses")

    def __str__(self) -> str:
        return f"{self.email_hash[:12]}… ({self.reason})"


class Consent(models.Model):
    """A contact's consent to marketing on one channel: asked (double opt-in pending),
    confirmed (when, from where, which form) or withdrawn."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Asked, not yet confirmed")
        CONFIRMED = "confirmed", _("Confirmed")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="consents")
    channel = models.CharField(_("channel"), max_length=5, choices=Channel.choices, default=Channel.EMAIL)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    source = models.CharField(_("source"), max_length=100, blank=True)
    form_page = models.ForeignKey(
        swapper.get_model_name("wagtailcore", "Page"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+", verbose_name=_("form"),
    )
    requested_at = models.DateTimeField(_("asked"), default=timezone.now)
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True, encoder=DjangoJSONEncoder)

    wagtail_reference_index_ignore = True

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        constraints = [models.UniqueConstraint(fields=["contact", "channel"], name="wsg_one_consent_per_channel")]

    def __str__(self) -> str:
        return f"{self.contact} · {self.get_channel_display()}: {self.get_status_display()}"


class ProviderEvent(models.Model):
    """A tracking event an email provider reported (through anymail), kept by its id so that
    a webhook delivered twice is recorded once."""

    provider = models.CharField(max_length=50)
    event_id = models.CharField(max_length=255)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "event_id"], name="wsg_provider_event_once")]
