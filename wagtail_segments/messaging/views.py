"""Public views for the links in messages: open pixel, click redirect, unsubscribe.

Every token is signed (``links.py``); a forged or edited one is refused with a 400 page,
except the open pixel, which always answers with its image (a mail program shows nothing
else). The click redirect only ever goes to a URL of ``Delivery.links``: the message's own
links, saved when it was sent. Test sends (``Delivery.test``) record nothing and change
nothing.

Machine opens: mail-privacy proxies and security scanners fetch images without a person
reading (``machine_opens.is_machine_open``, shared with provider tracking). A machine
open is recorded once per delivery as ``email_opened`` with ``machine: true`` and does not
set ``Delivery.opened_at``; the first other open sets it and records ``email_opened``.
Gmail's image proxy (``GoogleImageProxy``) fetches when a person opens the message, so it
counts as a person by default.
"""

from __future__ import annotations

import base64
import uuid

from django.http import HttpResponse, HttpResponseRedirect
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from wagtail_segments.contacts.models import Contact, Event, EventKind

from . import links
from .consent import unsubscribe as unsubscribe_contact
from .events import record_message_event
from .machine_opens import is_machine_open
from .models import Delivery
from .pages import bad_link

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def _delivery(purpose: str, token: str):
    """The delivery a signed token names (raises BadLink when it is forged); None when the
    delivery no longer exists (an erased contact)."""
    return _delivery_by_key(links.unsign(purpose, token))


@never_cache
def email_open(request, token: str) -> HttpResponse:
    """The open pixel: a 1×1 GIF, whatever the token."""
    try:
        delivery = _delivery("open", token)
    except links.BadLink:
        delivery = None
    if delivery is not None and not delivery.test:
        now = timezone.now()
        if is_machine_open(request.META.get("HTTP_USER_AGENT", ""), delivery.sent_at, now):
            seen = Event.objects.filter(contact_id=delivery.contact_id, kind=EventKind.EMAIL_OPENED,
                                        data__delivery=delivery.pk, data__machine=True)
            if not seen.exists():
                record_message_event(delivery, EventKind.EMAIL_OPENED, time=now, machine=True)
        elif _first_open(delivery, now):
            record_message_event(delivery, EventKind.EMAIL_OPENED, time=now, machine=False)
    return HttpResponse(PIXEL, content_type="image/gif")


def _first_open(delivery: Delivery, now) -> bool:
    """Set ``opened_at`` if nothing did before: True for the one request that set it."""
    return bool(Delivery.objects.filter(pk=delivery.pk, opened_at__isnull=True).update(opened_at=now))


@never_cache
def email_click(request, token: str) -> HttpResponse:
    """Redirect to the ``index``-th link of the delivery, and nowhere else."""
    try:
        value = links.unsign("click", token)
        if not (isinstance(value, list) and len(value) == 2 and isinstance(value[1], int)):
            raise links.BadLink("not a click token")
        delivery = _delivery_by_key(value[0])
    except links.BadLink:
        return bad_link(request)
    index = value[1]
    if delivery is None or not (0 <= index < len(delivery.links or [])) or not delivery.links[index]:
        return bad_link(request, status=404)
    url = delivery.links[index]
    if not url.lower().startswith(("http://", "https://")):
        return bad_link(request)
    if not delivery.test:
        now = timezone.now()
        Delivery.objects.filter(pk=delivery.pk, clicked_at__isnull=True).update(clicked_at=now)
        if _first_open(delivery, now):  # a click means it was read, images or not
            record_message_event(delivery, EventKind.EMAIL_OPENED, time=now, machine=False, by_click=True)
        record_message_event(delivery, EventKind.EMAIL_CLICKED, time=now, url=url, link=index)
    return HttpResponseRedirect(url)


def _delivery_by_key(value) -> Delivery | None:
    """The delivery of a token's uuid (raises BadLink when it is not one)."""
    try:
        key = uuid.UUID(str(value))
    except ValueError as error:
        raise links.BadLink(str(error)) from error
    return Delivery.objects.filter(token=key).first()


def _csrf_failure(request) -> HttpResponse | None:
    """The CSRF check the view's own form needs (the one-click POST has no token by design)."""
    def view(request):  # a view without ``csrf_exempt``: the check runs
        return None

    checker = CsrfViewMiddleware(lambda request: None)
    checker.process_request(request)
    return checker.process_view(request, view, (), {})


@csrf_exempt
@never_cache
def unsubscribe(request, token: str) -> HttpResponse:
    """GET: a page asking to confirm. POST: the confirmation from that page (CSRF-checked) or
    a mail program's one-click unsubscribe (RFC 8058: body ``List-Unsubscribe=One-Click``)."""
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponse(status=405, headers={"Allow": "GET, POST"})
    try:
        delivery = _delivery("unsubscribe", token)
    except links.BadLink:
        return bad_link(request)
    if delivery is None:
        return bad_link(request, status=404)
    context = {"delivery": delivery, "test": delivery.test, "preference_url": ""}
    contact = Contact.objects.filter(pk=delivery.contact_id).first()
    if contact is not None and not delivery.test:
        context["preference_url"] = links.preference_url(contact)
    if request.method == "POST":
        one_click = request.POST.get("List-Unsubscribe") == "One-Click"
        if not one_click:
            failure = _csrf_failure(request)
            if failure is not None:
                return failure
        if contact is not None and not delivery.test:
            unsubscribe_contact(contact, source="one-click" if one_click else "unsubscribe page", delivery=delivery)
        context["done"] = True
    else:
        context["done"] = contact is None or (contact.do_not_email and not delivery.test)
    return render(request, "wagtail_segments/messaging/unsubscribe.html", context)
