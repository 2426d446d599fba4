"""Submissions of ``wagtail.contrib.forms`` pages: identify the contact by the form's email
field, copy mapped answers onto the contact and record the answers as an event.

Where each answer goes is decided in three layers, each over the one before: the site setting
``FORM_FIELD_MAPPING``, the page class's ``segments_field_mapping`` and ``segments_email_field``,
and what an editor saved in Marketing → Form mappings (``FormMapping``). The code sets
defaults for every form; the editor, who sees the form, has the last word on one.

Wagtail sends no signal on submission, so this listens to ``post_save`` of every
``AbstractFormSubmission`` model and reads the request from the middleware's context; that
works whatever the page's landing page does (render, redirect) and for custom submission models.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from wagtail_segments.conf import settings as conf
from wagtail_segments.contacts.identity import contact_id_from_cookie, merge_contacts, resolve_contact
from wagtail_segments.contacts.models import Company, Contact, EventKind, normalise_email
from wagtail_segments.contacts.properties import PropertyValueError, normalise_property, property_types

from .context import current_request
from .details import request_details
from .filters import is_bot, should_track
from .models import FormMapping
from .recorder import new_contact_for, record_event
from .storable import Unstorable, storable_json, storable_text

logger = logging.getLogger(__name__)

CONTACT_FIELDS = ("first_name", "last_name", "phone", "company")  # in the order the admin lists them
EMAIL_LENGTH = Contact._meta.get_field("email").max_length
_SAVED = "_wsg_saved_form_mapping"


def saved_form_mapping(page) -> FormMapping | None:
    """What an editor saved for ``page`` in Marketing → Form mappings, or None. Read once per
    page instance: a submission asks for it several times and pays one query."""
    if _SAVED not in page.__dict__:
        page.__dict__[_SAVED] = FormMapping.objects.filter(page_id=page.pk).first() if page.pk else None
    return page.__dict__[_SAVED]


def default_email_field(page) -> str | None:
    """The identifying field when no editor chose one: the page's ``segments_email_field``
    if its code sets one, else its first email-type field."""
    override = getattr(page, "segments_email_field", None)
    if override:
        return override
    for field in page.get_form_fields():
        if field.field_type == "email":
            return field.clean_name
    return None


def form_email_field(page, answers: dict | None = None) -> str | None:
    """The clean name of the field that identifies the submitter: the one an editor chose
    while the form still has it (it is among ``answers``, else among the page's fields), else
    ``default_email_field``."""
    saved = saved_form_mapping(page)
    chosen = saved.email_field if saved is not None else ""
    if chosen:
        present = answers if answers is not None else {field.clean_name for field in page.get_form_fields()}
        if chosen in present:
            return chosen
    return default_email_field(page)


def default_field_mapping(page) -> dict[str, str | None]:
    """Where answers go before an editor's choices: the site setting, overridden by the
    page's ``segments_field_mapping``."""
    return {**conf.FORM_FIELD_MAPPING, **(getattr(page, "segments_field_mapping", None) or {})}


def form_field_mapping(page) -> dict[str, str | None]:
    """Answer name -> contact field ("first_name", "company", …), "properties.<key>", or None
    to ignore: the site setting < the page's ``segments_field_mapping`` < what an editor saved
    (``FormMapping.targets``). An answer named nowhere goes to ``target_of``'s default."""
    saved = saved_form_mapping(page)
    return {**default_field_mapping(page), **(saved.chosen_targets() if saved is not None else {})}


def target_of(mapping: dict[str, str | None], name: str) -> str | None:
    """Where the answer ``name`` goes under ``mapping``: unmapped answers keep their own name
    as a property."""
    return mapping.get(name, f"properties.{name}")


def _as_text(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


def storable_answers(answers: dict) -> tuple[dict, list[str]]:
    """The answers a JSON column takes (text cleaned), and an error for each one it would
    refuse (a NaN or an endless number from a submission saved by code)."""
    kept: dict = {}
    errors: list[str] = []
    for name, value in answers.items():
        try:
            kept[storable_text(name)] = storable_json(value)
        except Unstorable:
            errors.append(f"{storable_text(name)}: " + _("the answer cannot be stored."))
    return kept, errors


def apply_answers(contact: Contact, answers: dict, page, *, overwrite: bool, email_field: str | None) -> list[str]:
    """Copy answers onto the contact; returns the errors of answers that could not be typed.

    ``overwrite`` is False when the submitter only claimed an existing contact's email:
    then answers fill blanks but never replace what the contact already has. Answers are
    visitor input: made storable (storable.py) before they are copied.
    """
    mapping = form_field_mapping(page)
    types = property_types()
    errors: list[str] = []
    changed: set[str] = set()
    for name, value in answers.items():
        if name == email_field:
            continue
        target = target_of(mapping, name)
        if not target:
            continue
        if target not in CONTACT_FIELDS and not target.startswith("properties."):
            logger.warning("Form field %s maps to unknown target %r; answer not copied.", name, target)
            continue
        if target in CONTACT_FIELDS:
            text = storable_text(_as_text(value)).strip()
            if not text:
                continue
            if target == "company":
                if contact.company_id and not overwrite:
                    continue
                text = text[:255]
                company = Company.objects.filter(name__iexact=text).first() or Company.objects.create(name=text)
                if contact.company_id != company.pk:
                    contact.company = company
                    changed.add("company")
                continue
            max_length = Contact._meta.get_field(target).max_length
            if getattr(contact, target) and not overwrite:
                continue
            if getattr(contact, target) != text[:max_length]:
                setattr(contact, target, text[:max_length])
                changed.add(target)
        else:
            key = target.removeprefix("properties.")
            if value in (None, "", [], ()):
                continue  # an unanswered field never erases what the contact has
            if key in contact.properties and not overwrite:
                continue
            try:
                typed = storable_json(normalise_property(key, value, types))
            except PropertyValueError as error:
                errors.append(f"{key}: {error}")
                continue
            except Unstorable:
                errors.append(f"{key}: " + _("“%(value)s” cannot be stored.") % {"value": _as_text(value)})
                continue
            if contact.properties.get(key, object()) != typed:
                contact.properties[key] = typed
                changed.add("properties")
    if changed:
        contact.save(update_fields=sorted(changed))
    return errors


def _take_new_email(email: str, visitor: Contact | None, request, tracking: bool) -> Contact:
    """The contact that takes an email no contact had when looked up: the visitor's own if it
    has none, else a new one. In a savepoint, so that when another submission took the email
    in the meantime (IntegrityError on the unique email key) this one's transaction goes on."""
    if visitor is not None and not visitor.email_key:
        blank = visitor.email
        try:
            with transaction.atomic():
                visitor.email = email
                visitor.save()
        except IntegrityError:
            visitor.email, visitor.email_key = blank, None  # as the rolled-back row still is
            raise
        return visitor
    with transaction.atomic():
        return new_contact_for(request if tracking and visitor is None else None, email=email)


def _submitter(email: str, cookie_id: int | None, visitor: Contact | None, request, tracking: bool):
    """The contact a submission belongs to, and whether its answers may overwrite fields."""
    if email:
        known = Contact.objects.with_email(email).first()
        if known is None:
            try:
                return _take_new_email(email, visitor, request, tracking), True
            except IntegrityError:
                # Two first submissions with the same email at once: this one joins the other.
                known = Contact.objects.with_email(email).first()
                if known is None:
                    raise
        if visitor is not None and visitor.pk != known.pk and visitor.is_anonymous:
            # The anonymous history joins the known contact, but the cookie keeps naming the
            # merged-away row: anyone can type anyone's email.
            known = merge_contacts(visitor, known)
        return known, cookie_id == known.pk
    if visitor is not None:
        # Through a merged-away cookie the visitor only claimed this contact: fill blanks only.
        return visitor, cookie_id == visitor.pk
    if tracking:
        return new_contact_for(request), True
    return None, False


def record_form_submission(submission, request: HttpRequest | None = None):
    """The event for one submission, or None for a bot or an untracked visitor with no email."""
    if request is not None and is_bot(request.META.get("HTTP_USER_AGENT", "")):
        return None
    page = submission.page
    if not hasattr(page, "get_form_fields"):
        page = page.specific
    answers, unstorable = storable_answers(submission.form_data or {})
    email_field = form_email_field(page, answers)
    email = storable_text(_as_text(answers.get(email_field))).strip() if email_field else ""
    if "@" not in email or len(email) > EMAIL_LENGTH:
        email = ""
    tracking = request is not None and should_track(request)
    with transaction.atomic():
        cookie_id = contact_id_from_cookie(request) if tracking else None
        visitor = resolve_contact(cookie_id)
        contact, overwrite = _submitter(email, cookie_id, visitor, request, tracking)
        if contact is None:
            return None
        errors = unstorable + apply_answers(contact, answers, page, overwrite=overwrite, email_field=email_field)
        data = {
            "form_page": page.pk,
            "form_title": page.title,
            "submission": f"{submission._meta.label_lower}:{submission.pk}",
            "email": normalise_email(email),
            "answers": answers,
        }
        if errors:
            data["errors"] = errors
        data = storable_json(data)  # error messages quote the answers
        details = request_details(request) if tracking else {}
        return record_event(contact.pk, EventKind.FORM_SUBMISSION, details=details, page=page, data=data)


def on_form_submission_saved(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    if not created or raw:
        return
    try:
        record_form_submission(instance, current_request.get())
    except Exception:  # the visitor's submission is saved; tracking must never lose it
        logger.exception("Could not record the form submission %s", instance.pk)
