"""A login is a verified identity: the visitor's contact is linked to the user, an anonymous
history is merged in, and the cookie is pointed at the user's contact."""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction

from wagtail_segments.contacts.identity import (
    contact_id_from_cookie,
    merge_contacts,
    resolve_contact,
    set_visitor_contact,
)
from wagtail_segments.contacts.models import Contact, EventKind, normalise_email

from .details import request_details
from .filters import should_track
from .recorder import record_event

logger = logging.getLogger(__name__)


def contact_for_user(user) -> Contact | None:
    """The user's contact: linked to the user, else the unlinked contact with the user's email."""
    contact = Contact.objects.filter(user=user).first()
    email = getattr(user, "email", "")
    if contact is None and email:
        contact = Contact.objects.with_email(email).filter(user__isnull=True).first()
    return contact


def on_user_logged_in(sender, request, user, **kwargs) -> None:
    if request is None or not should_track(request):
        return
    try:
        link_login(request, user)
    except Exception:  # tracking must never fail a login
        logger.exception("Could not record the login of user %s", user.pk)


def link_login(request, user) -> None:
    with transaction.atomic():
        cookie_id = contact_id_from_cookie(request)
        try:
            contact = _link_contact(user, resolve_contact(cookie_id))
        except IntegrityError:
            # Another login of this user, or a form with their email, committed a contact
            # between the lookups and the save (unique user, unique email key): link again,
            # now that the lookups see it.
            contact = _link_contact(user, resolve_contact(cookie_id))
        set_visitor_contact(request, contact.pk)
        record_event(contact.pk, EventKind.LOGIN, details=request_details(request))


def _link_contact(user, visitor: Contact | None) -> Contact:
    """The user's contact, linked to the user, with the visitor's anonymous history merged in."""
    contact = contact_for_user(user)
    email = getattr(user, "email", "") or ""
    if contact is None:
        if visitor is not None and (
            visitor.is_anonymous or visitor.email_key == normalise_email(email)
        ) and not visitor.user_id:
            contact = visitor
        else:
            contact = Contact()  # inserted by the save below, in its savepoint
    elif visitor is not None and visitor.pk != contact.pk and visitor.is_anonymous:
        contact = merge_contacts(visitor, contact)
    contact.user = contact.user or user
    if not contact.email_key and email and not Contact.objects.with_email(email).exists():
        contact.email = email
    contact.first_name = contact.first_name or getattr(user, "first_name", "")[:150]
    contact.last_name = contact.last_name or getattr(user, "last_name", "")[:150]
    with transaction.atomic():  # a lost race leaves the login's transaction usable
        contact.save()
    return contact
