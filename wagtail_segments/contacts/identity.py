"""Who a visitor is: the signed contact cookie, and merging two contacts into one.

The cookie carries the signed primary key of the visitor's contact, so that recording an
event needs no lookup. A forged, expired or malformed cookie reads as "no contact".
"""

from __future__ import annotations

import logging

from django.core import signing
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from wagtail_segments.conf import settings as conf
from wagtail_segments.signals import contacts_merged

from .models import Contact, Event, EventKind, Touchpoint
from .request_state import request_state

logger = logging.getLogger(__name__)

COOKIE_SALT = "wagtail_segments.contact"
# A cookie older than half its life is re-issued on the next response, so that an active
# visitor keeps their identity while an inactive one's expires before retention prunes them.
REISSUE_AFTER_FRACTION = 0.5


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=COOKIE_SALT)


def _max_age_seconds() -> int:
    return int(conf.COOKIE_MAX_AGE_DAYS * 86400)


def contact_id_from_cookie(request: HttpRequest) -> int | None:
    """The contact id the request's cookie names, or None if absent, forged or expired."""
    state = request_state(request)
    if state.cookie_read:
        return state.cookie_contact_id
    contact_id = None
    raw = request.COOKIES.get(conf.COOKIE_NAME)
    if raw and len(raw) < 200:
        try:
            value = _signer().unsign(raw, max_age=_max_age_seconds())
        except signing.BadSignature:
            value = None
        if value is not None and value.isdigit() and len(value) < 19:
            contact_id = int(value)
            state.cookie_reissue = _needs_reissue(raw)
    state.cookie_read, state.cookie_contact_id = True, contact_id
    return contact_id


def _needs_reissue(raw: str) -> bool:
    try:
        issued = signing.b62_decode(raw.rsplit(":", 2)[-2])
    except (ValueError, IndexError):
        return False
    return timezone.now().timestamp() - issued > _max_age_seconds() * REISSUE_AFTER_FRACTION


def set_visitor_contact(request: HttpRequest, contact_id: int | None) -> None:
    """Point the visitor's cookie at ``contact_id`` on this request's response (None clears it)."""
    state = request_state(request)
    state.cookie_read, state.cookie_contact_id, state.cookie_pending = True, contact_id, True


def apply_contact_cookie(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Write a pending or stale contact cookie on the response; called by the middleware."""
    state = request_state(request)
    if not (state.cookie_pending or state.cookie_reissue):
        return response
    contact_id = state.cookie_contact_id
    if contact_id is None:
        if state.cookie_pending:
            response.delete_cookie(conf.COOKIE_NAME, domain=conf.COOKIE_DOMAIN, samesite="Lax")
        return response
    secure = conf.COOKIE_SECURE
    if secure is None:
        secure = request.is_secure()
    response.set_cookie(
        conf.COOKIE_NAME,
        _signer().sign(str(contact_id)),
        max_age=_max_age_seconds(),
        domain=conf.COOKIE_DOMAIN,
        secure=secure,
        httponly=True,
        samesite="Lax",
    )
    state.cookie_pending = state.cookie_reissue = False
    return response


MERGED_FIELDS = ("first_name", "last_name", "phone", "company_id", "country", "email", "user_id")


@transaction.atomic
def merge_contacts(source: Contact, into: Contact) -> Contact:
    """Move ``source``'s history into ``into`` and leave ``source`` as an empty pointer.

    The known contact's fields win and its blanks are filled; points add; tags and
    do-not-contact flags combine. The merge itself is recorded as an event on ``into``.
    """
    if source.pk == into.pk:
        return into
    # Lock both rows in a stable order so that two concurrent merges cannot deadlock.
    locked = {
        c.pk: c
        for c in Contact.objects.select_for_update().filter(pk__in=[source.pk, into.pk]).order_by("pk")
    }
    source, into = locked[source.pk], locked[into.pk]
    if source.merged_into_id:
        return into

    moved = Event.objects.filter(contact=source).update(contact=into)
    Touchpoint.objects.filter(contact=source).update(contact=into)
    Contact.objects.filter(merged_into=source).update(merged_into=into)

    for field in MERGED_FIELDS:
        if not getattr(into, field) and getattr(source, field):
            setattr(into, field, getattr(source, field))
    into.properties = {**source.properties, **into.properties}
    into.points += source.points
    into.first_seen = min(into.first_seen, source.first_seen)
    into.last_seen = max((seen for seen in (into.last_seen, source.last_seen) if seen), default=None)
    into.do_not_email = into.do_not_email or source.do_not_email
    into.do_not_email_reason = into.do_not_email_reason or source.do_not_email_reason
    into.do_not_sms = into.do_not_sms or source.do_not_sms
    into.do_not_sms_reason = into.do_not_sms_reason or source.do_not_sms_reason
    tag_names = list(source.tags.values_list("name", flat=True))

    # Free the unique email and user on the source before the survivor takes them.
    Contact.objects.filter(pk=source.pk).update(
        email="", email_key=None, user=None, first_name="", last_name="", phone="", phone_e164="",
        company=None, properties={}, points=0, merged_into=into,
        do_not_email=False, do_not_email_reason="", do_not_sms=False, do_not_sms_reason="",
    )
    source.tags.clear()
    into.save()
    if tag_names:
        into.tags.add(*tag_names)

    Event.objects.create(
        contact=into,
        kind=EventKind.MERGE,
        data={"merged_contact": str(source.uuid), "events_moved": moved},
    )
    contacts_merged.send(sender=Contact, source=source, into=into)
    source.merged_into = into
    return into


def resolve_contact(contact_id: int | None) -> Contact | None:
    """The live contact behind an id from a cookie, following merges; None if it is gone."""
    if contact_id is None:
        return None
    contact = Contact.objects.filter(pk=contact_id).first()
    hops = 0
    while contact is not None and contact.merged_into_id and hops < 10:
        contact = Contact.objects.filter(pk=contact.merged_into_id).first()
        hops += 1
    return contact
