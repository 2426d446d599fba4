"""Writing events: the one INSERT a tracked request costs, and the public ``track()``."""

from __future__ import annotations

import logging
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.http import HttpRequest

from wagtail_segments.conf import settings as conf
from wagtail_segments.contacts.identity import contact_id_from_cookie, set_visitor_contact
from wagtail_segments.contacts.models import Contact, Event, EventKind
from wagtail_segments.contacts.pass_queue import reset_debounce, schedule_event_processing  # noqa: F401
from wagtail_segments.signals import event_recorded

from .details import request_details
from .insert import UNFLUSHED, can_insert_unflushed, insert_unflushed
from .filters import should_track
from .references import insert_checking_references, replace_missing_references
from .storable import dropped_when_refused, storable_json

logger = logging.getLogger(__name__)
def new_contact_for(request: HttpRequest | None, **fields: Any) -> Contact:
    contact = Contact.objects.create(**fields)
    if request is not None:
        set_visitor_contact(request, contact.pk)
    return contact


def visitor_contact_id(request: HttpRequest, country: str = "") -> int:
    """The visitor's contact id, creating the contact (and its cookie) on the first event."""
    contact_id = contact_id_from_cookie(request)
    if contact_id is None:
        contact_id = new_contact_for(request, country=country).pk
    return contact_id


def _insert(event: Event) -> None:
    """Insert the row; IntegrityError at once when a row it points to is gone (an erased
    contact's cookie, a page deleted after a cached copy was served), also inside a site's
    own transaction (``ATOMIC_REQUESTS``), where the database would otherwise wait for the
    commit to say so and fail the visitor's page."""
    if connection.in_atomic_block:
        insert_checking_references(event)
    elif conf.TRACKING_ASYNC_COMMIT and can_insert_unflushed():
        # The visitor does not wait for the write-ahead log to reach the disk: most of an
        # insert's time on a busy server (docs/scaling.md). A crash may lose the last
        # fraction of a second of events; it never corrupts or half-writes one.
        insert_unflushed(event)
    elif conf.TRACKING_ASYNC_COMMIT and connection.vendor == "postgresql":
        with transaction.atomic():  # server-side binding: one statement per execute
            with connection.cursor() as cursor:
                cursor.execute(UNFLUSHED)
            event.save(force_insert=True)
    else:
        event.save(force_insert=True)


def record_event(
    contact_id: int,
    kind: str,
    *,
    request: HttpRequest | None = None,
    details: dict | None = None,
    **columns: Any,
) -> Event:
    """Write one event for ``contact_id``. With a request, a missing contact is replaced by a
    new one (with a new cookie) and a missing page or site dropped rather than failing the
    visitor's request; without one, the IntegrityError is the caller's to see."""
    event = Event(contact_id=contact_id, kind=kind, **(details or {}), **columns)
    if request is None:
        event.save(force_insert=True)
    else:
        try:
            _insert(event)
        except IntegrityError:
            replace_missing_references(event, lambda: new_contact_for(request, country=event.country).pk)
            _insert(event)
    event_recorded.send(sender=Event, event=event)
    schedule_event_processing(event.pk)
    return event


def record_request_event(request: HttpRequest, kind: str, **columns: Any) -> Event | None:
    """An event for the request's visitor with the request's path, referrer, UTM and device;
    None when a value cannot be stored (storable.py): the page is served as if untracked."""
    details = request_details(request)
    details.update({k: columns.pop(k) for k in list(columns) if k in details})
    with dropped_when_refused(f"a {kind} event"):
        if "data" in columns:
            columns["data"] = storable_json(columns["data"])
        contact_id = visitor_contact_id(request, country=details["country"])
        return record_event(contact_id, kind, request=request, details=details, **columns)
    return None


def record_page_view(request: HttpRequest, page) -> Event | None:
    if not should_track(request):
        return None
    return record_request_event(request, EventKind.PAGE_VIEW, page=page)


def track(request_or_contact: HttpRequest | Contact, kind: str, **data: Any) -> Event | None:
    """Record an event of ``kind`` for a request's visitor or for a contact.

    ``page`` may be passed to link a Wagtail page; everything else goes into the event's data.
    For a request the privacy filters apply and None is returned when it is not tracked.
    """
    if not kind or len(kind) > 40:
        raise ValueError("An event kind is a non-empty string of at most 40 characters.")
    page = data.pop("page", None)
    if isinstance(request_or_contact, Contact):
        contact = request_or_contact
        target = contact.merged_into_id or contact.pk
        return record_event(target, kind, page=page, data=data)
    request = request_or_contact
    if not should_track(request):
        return None
    return record_request_event(request, kind, page=page, data=data)
