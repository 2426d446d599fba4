"""The public pages behind the links in every email: the preference page and the double
opt-in confirmation.

Both are reached by a signed link (links.py) and need no login: the signature is the proof
that the visitor holds the contact's email. A forged or edited link gets a 400 page and
changes nothing. Changes are POSTs with Django's CSRF check, and the confirmation is a button
rather than the link itself, because mail scanners open every link of a message as it
arrives. Every page is a template a site may override (names in docs/messaging.md).
"""

from __future__ import annotations

import uuid

from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods

from wagtail_segments.contacts.identity import resolve_contact
from wagtail_segments.contacts.models import Contact
from wagtail_segments.segments.manual import add_contacts, remove_contacts
from wagtail_segments.segments.models import Membership, Segment

from .consent import confirm_consent, may_consent_again, request_confirmation, unsubscribe
from .links import BadLink, preference_url, unsign
from .models import Channel, Consent
from .pages import bad_link, private

TEMPLATES = "wagtail_segments/messaging/preferences/"
OUTCOMES = ("saved", "unsubscribed", "confirmation_sent", "confirmation_not_sent")


def _page(request: HttpRequest, name: str, context: dict | None = None, status: int = 200) -> HttpResponse:
    return private(render(request, TEMPLATES + name, context or {}, status=status))


def _contact(value) -> Contact | None:
    """The live contact a link names, following merges; None when it was erased."""
    try:
        public_id = uuid.UUID(str(value))
    except ValueError:
        return None
    pk = Contact.objects.filter(uuid=public_id).values_list("pk", flat=True).first()
    return resolve_contact(pk)


def public_segments():
    """The static segments a contact may join or leave from the preference page."""
    return Segment.objects.filter(kind=Segment.Kind.STATIC, public=True, active=True).order_by("name")


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest, token: str) -> HttpResponse:
    try:
        contact = _contact(unsign("preferences", token))
    except BadLink:
        return bad_link(request)
    if contact is None:
        return _page(request, "gone.html", status=404)
    offered = list(public_segments())
    member_of = set(
        Membership.objects.filter(contact=contact, segment__in=offered, excluded=False).values_list("segment_id", flat=True)
    )
    if request.method == "POST":
        outcome = _apply_choices(request, contact, offered, member_of)
        return private(HttpResponseRedirect(f"{request.path}?done={outcome}"))
    consent = Consent.objects.filter(contact=contact, channel=Channel.EMAIL).first()
    done = request.GET.get("done")
    return _page(request, "page.html", {
        "contact": contact,
        "segments": [(segment, segment.pk in member_of) for segment in offered],
        "unsubscribed": contact.do_not_email,
        "may_subscribe_again": contact.do_not_email and may_consent_again(contact),
        "consent": consent,
        "done": done if done in OUTCOMES else None,
    })


def _apply_choices(request: HttpRequest, contact: Contact, offered: list[Segment], member_of: set[int]) -> str:
    action = request.POST.get("action")
    if action == "unsubscribe":
        unsubscribe(contact, source="preference page")
        return "unsubscribed"
    if action == "subscribe_again":
        sent = request_confirmation(contact, source="preference page")
        return "confirmation_sent" if sent is not None else "confirmation_not_sent"
    wanted = set()
    for raw in request.POST.getlist("segments"):
        try:
            wanted.add(int(raw))
        except ValueError:
            continue
    with transaction.atomic():
        for segment in offered:  # only offered segments: a posted id of any other is ignored
            if segment.pk in wanted and segment.pk not in member_of:
                add_contacts(segment, [contact.pk], source=Membership.Source.MANUAL)
            elif segment.pk not in wanted and segment.pk in member_of:
                remove_contacts(segment, [contact.pk], source=Membership.Source.MANUAL)
    return "saved"


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button; its POST records the confirmation (mail scanners follow links)."""
    try:
        public_id, channel = unsign("confirm", token)
    except (BadLink, ValueError, TypeError):
        return bad_link(request)
    if channel not in Channel.values:
        return bad_link(request)
    contact = _contact(public_id)
    if contact is None:
        return _page(request, "gone.html", status=404)
    consent = Consent.objects.filter(contact=contact, channel=channel).first()
    if consent is not None and consent.status == Consent.Status.WITHDRAWN:
        # Unsubscribed after this link was sent: the preference page can ask afresh.
        return _page(request, "withdrawn.html", {"contact": contact, "preference_url": preference_url(contact)})
    if request.method == "POST":
        confirm_consent(contact, channel)
        return _page(request, "confirmed.html", {"contact": contact})
    if consent is not None and consent.status == Consent.Status.CONFIRMED:
        return _page(request, "confirmed.html", {"contact": contact, "already": True})
    return _page(request, "confirm.html", {"contact": contact})
