"""Everything held about one contact: exported as JSON, or erased.

It sits at the top of the package because it reads every part (contacts, segments, messaging,
campaigns). "A contact" includes the empty rows merged into it (``merged_into``), whose old
cookies resolve to it: they are exported (their ids) and erased with it, so that a browser
that still carries such a cookie starts as a new anonymous visitor.

Erasure keeps exactly one thing: the hash of the address on the suppression list, when the
contact had unsubscribed, bounced, complained or been rejected, so that the address stays
unmailable when someone imports it again (docs/messaging.md, "Suppression").
"""

from __future__ import annotations

import json
from typing import Any

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.db.models import F
from django.utils import timezone

from wagtail_segments.campaigns.models import Run, StepLog
from wagtail_segments.contacts.models import Contact, Event, EventKind, TaggedContact, Touchpoint
from wagtail_segments.messaging.consent import SUPPRESSED, UNSUBSCRIBED, suppress
from wagtail_segments.messaging.models import Consent, Delivery, Suppression, email_hash
from wagtail_segments.segments.models import Membership, Segment

# Reasons (``do_not_email_reason`` prefixes, suppression reasons) and event kinds that mean the
# address must stay suppressed after erasure.
KEEP_SUPPRESSED_REASONS = (UNSUBSCRIBED, SUPPRESSED, "bounced", "complained", "rejected")
KEEP_SUPPRESSED_KINDS = (EventKind.EMAIL_UNSUBSCRIBED, EventKind.EMAIL_BOUNCED, EventKind.EMAIL_COMPLAINED)


def contact_family(contact: Contact) -> list[int]:
    """``contact``'s id and those of every contact merged into it, at any depth."""
    ids, frontier = [contact.pk], [contact.pk]
    while frontier:
        frontier = list(Contact.objects.filter(merged_into__in=frontier).values_list("pk", flat=True))
        frontier = [pk for pk in frontier if pk not in ids]
        ids.extend(frontier)
    return ids


def _row(obj: models.Model, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    """The concrete fields of a row; foreign keys as ids."""
    return {
        field.name: field.value_from_object(obj)
        for field in obj._meta.concrete_fields
        if field.name not in exclude
    }


def export_contact(contact: Contact) -> dict:
    """Everything held about ``contact`` as a JSON-serialisable dict: its fields, properties
    and tags, events, segment memberships, campaign runs with their step logs, deliveries,
    consents and touchpoints, and whether its address is on the suppression list."""
    family = contact_family(contact)
    contact = Contact.objects.select_related("company", "user").get(pk=contact.pk)
    fields = _row(contact, exclude=("email_key", "company", "user", "merged_into"))
    fields.update({
        "company": contact.company.name if contact.company else None,
        "user": contact.user.get_username() if contact.user else None,
    })
    runs = list(Run.objects.filter(contact__in=family).select_related("campaign").order_by("entered_at", "pk"))
    logs: dict[int, list] = {}
    for log in StepLog.objects.filter(run__in=runs).select_related("step").order_by("started_at", "pk"):
        logs.setdefault(log.run_id, []).append({
            **_row(log, exclude=("id", "run", "step", "claimed_by")),
            "step": str(log.step), "step_key": log.step.key,
        })
    data = {
        "exported_at": timezone.now(),
        "contact": fields,
        "merged_contacts": [
            str(uuid) for uuid in Contact.objects.filter(pk__in=family[1:]).values_list("uuid", flat=True)
        ],
        "tags": sorted(TaggedContact.objects.filter(content_object__in=family).values_list("tag__name", flat=True)),
        "events": [
            _row(event, exclude=("contact",))
            for event in Event.objects.filter(contact__in=family).order_by("time", "pk")
        ],
        "memberships": [
            {"segment": segment_name, "segment_slug": slug, "source": source, "added_at": added_at, "excluded": excluded}
            for segment_name, slug, source, added_at, excluded in Membership.objects.filter(contact__in=family)
            .order_by("added_at", "pk").values_list("segment__name", "segment__slug", "source", "added_at", "excluded")
        ],
        "campaign_runs": [
            {
                **_row(run, exclude=("contact", "campaign", "step", "lease_owner", "lease_until", "version")),
                "campaign": run.campaign.name,
                "steps": logs.get(run.pk, []),
            }
            for run in runs
        ],
        "deliveries": [
            {**_row(delivery, exclude=("contact",)), "message": str(delivery.email_message or delivery.sms_message or "")}
            for delivery in Delivery.objects.filter(contact__in=family)
            .select_related("email_message", "sms_message").order_by("created_at", "pk")
        ],
        "consents": [
            {**_row(consent, exclude=("id", "contact")), "form_page": consent.form_page_id}
            for consent in Consent.objects.filter(contact__in=family).order_by("pk")
        ],
        "touchpoints": [
            _row(touchpoint, exclude=("contact",))
            for touchpoint in Touchpoint.objects.filter(contact__in=family).order_by("time", "pk")
        ],
        "suppressed": bool(contact.email) and Suppression.objects.filter(email_hash=email_hash(contact.email)).exists(),
    }
    # One pass through the encoder: dates, UUIDs and decimals become the strings JSON holds.
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def _keeps_suppression(contacts: list[Contact], family: list[int]) -> str | None:
    """The reason to keep the address suppressed after erasure, or None."""
    for contact in contacts:
        if contact.do_not_email and contact.do_not_email_reason.startswith(KEEP_SUPPRESSED_REASONS):
            return contact.do_not_email_reason.split(" ", 1)[0]
    if Consent.objects.filter(contact__in=family, status=Consent.Status.WITHDRAWN).exists():
        return UNSUBSCRIBED
    kind = Event.objects.filter(contact__in=family, kind__in=KEEP_SUPPRESSED_KINDS).values_list("kind", flat=True).first()
    if kind:
        return {EventKind.EMAIL_UNSUBSCRIBED: UNSUBSCRIBED, EventKind.EMAIL_BOUNCED: "bounced"}.get(kind, "complained")
    return None


def _form_submissions(family: list[int]):
    """The site's form submission rows the contact's form events point to ("label:pk")."""
    by_model: dict[str, list[int]] = {}
    for reference in Event.objects.filter(contact__in=family, kind=EventKind.FORM_SUBMISSION).values_list(
        "data__submission", flat=True,
    ):
        label, _, pk = str(reference or "").partition(":")
        if pk.isdigit():
            by_model.setdefault(label, []).append(int(pk))
    for label, pks in by_model.items():
        try:
            model = apps.get_model(label)
        except (LookupError, ValueError):
            continue
        yield model.objects.filter(pk__in=pks)


@transaction.atomic
def erase_contact(contact: Contact) -> dict[str, int]:
    """Delete everything held about ``contact``, in one transaction: the contact, the rows
    merged into it, their events, tags, memberships, campaign runs and step logs, deliveries,
    consents, touchpoints, the site's form submissions they made and the admin's history of
    them. Only the address's suppression hash stays, when the contact had unsubscribed,
    bounced, complained or been rejected. Returns how many rows of each kind went."""
    family = contact_family(contact)
    contacts = list(Contact.objects.select_for_update().filter(pk__in=family).order_by("pk"))
    emails = {c.email for c in contacts if c.email}
    # A suppression row already there stays whatever the contact shows now: it was written
    # because the address unsubscribed, bounced or complained.
    reason = _keeps_suppression(contacts, family)
    if reason:
        for email in emails:
            suppress(email, reason)

    counts: dict[str, int] = {}
    for segment_id in Membership.objects.filter(contact__in=family, excluded=False).values_list("segment_id", flat=True):
        Segment.objects.filter(pk=segment_id, member_count__gt=0).update(member_count=F("member_count") - 1)
    for submissions in _form_submissions(family):
        deleted, _ = submissions.delete()
        counts["form submissions"] = counts.get("form submissions", 0) + deleted
    from wagtail.models import ModelLogEntry

    ModelLogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Contact), object_id__in=[str(pk) for pk in family],
    ).delete()
    # Detach the merged-away rows first: deleting a row another one points to would set the
    # pointer to NULL on a row that is about to go anyway.
    Contact.objects.filter(pk__in=family).update(merged_into=None)
    _total, by_model = Contact.objects.filter(pk__in=family).delete()
    for label, deleted in by_model.items():
        counts[label.split(".")[-1].lower()] = counts.get(label.split(".")[-1].lower(), 0) + deleted
    return counts


def find_contact(identifier: str) -> Contact | None:
    """The live contact an email, public id (UUID) or database id names, following merges."""
    import uuid

    from wagtail_segments.contacts.identity import resolve_contact

    identifier = identifier.strip()
    if "@" in identifier:
        pk = Contact.objects.with_email(identifier).values_list("pk", flat=True).first()
    elif identifier.isdigit():
        pk = int(identifier)
    else:
        try:
            pk = Contact.objects.filter(uuid=uuid.UUID(identifier)).values_list("pk", flat=True).first()
        except ValueError:
            return None
    return resolve_contact(pk)
