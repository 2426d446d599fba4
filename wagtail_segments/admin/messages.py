"""Previewing a message as a chosen contact, and a test send to yourself.

The contact is chosen by searching (email, name), never by id; the email's HTML is shown in
a sandboxed frame (no scripts, its own document), so a message's markup cannot reach the
admin page around it.
"""

from __future__ import annotations

from django.contrib import messages as flash
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from wagtail_segments.contacts.models import Contact
from wagtail_segments.messaging.merge import MergeFieldError, render_text
from wagtail_segments.messaging.models import EmailMessage, SmsMessage

from . import audit
from .campaigns import denied

SEARCH_RESULTS = 10


def _can(user, model: str, *actions: str) -> bool:
    return any(user.has_perm(f"wagtail_segments.{action}_{model}") for action in actions)


def chosen_contact(request: HttpRequest) -> tuple[Contact | None, list[Contact], str]:
    """The contact chosen (``?contact=<id>``) and the search for one (``?q=``)."""
    query = (request.GET.get("q") or "").strip()
    found: list[Contact] = []
    if query:
        words = Q(email__icontains=query) | Q(first_name__icontains=query) | Q(last_name__icontains=query)
        found = list(Contact.objects.live().filter(words).order_by("email")[:SEARCH_RESULTS])
    contact = None
    raw = request.GET.get("contact") or request.POST.get("contact")
    if raw and str(raw).isdigit():
        contact = Contact.objects.live().filter(pk=int(raw)).first()
    return contact, found, query


def email_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the email as the chosen contact would get it. POST: send it to yourself."""
    message = get_object_or_404(EmailMessage, pk=pk)
    index_url = reverse("wagtail_segments_emailmessage_modeladmin_index")
    if not _can(request.user, "emailmessage", "view", "change"):
        return denied(request, "wagtail_segments.change_emailmessage", index_url)
    contact, found, query = chosen_contact(request)
    if request.method == "POST":
        if not _can(request.user, "emailmessage", "change"):
            return denied(request, "wagtail_segments.change_emailmessage", index_url)
        return _send_test(request, message, contact)
    subject = html = text = ""
    problem = ""
    try:
        from wagtail_segments.messaging.rendering import preview_as

        subject, html, text = preview_as(message, contact if contact is not None else Contact())
    except ImportError:
        problem = _("Email rendering is not installed in this version.")
    except Exception as error:  # a broken merge field: say so instead of failing the page
        problem = str(error)
    return TemplateResponse(request, "wagtail_segments/admin/message_preview.html", {
        "message": message, "channel": "email", "contact": contact, "found": found, "query": query,
        "subject": subject, "html": html, "text": text, "problem": problem, "back_url": index_url,
        "your_email": request.user.email, "can_send": _can(request.user, "emailmessage", "change"),
    })


def _send_test(request: HttpRequest, message: EmailMessage, contact: Contact | None) -> HttpResponse:
    url = reverse("wagtail_segments_email_preview", args=[message.pk])
    if contact is not None:
        url += f"?contact={contact.pk}"
    if not request.user.email:
        flash.error(request, _("Your account has no email address: add one in your account settings."))
        return redirect(url)
    from wagtail_segments.messaging.sending import send_test

    try:
        send_test(message, request.user.email, as_contact=contact)
    except Exception as error:  # the backend's refusal, shown to the editor
        flash.error(request, _("The test was not sent: %(error)s") % {"error": error})
        return redirect(url)
    audit.record(message, audit.TEST_SENT, user=request.user, to=request.user.email,
                 as_contact=contact.pk if contact else None)
    flash.success(request, _("Test sent to %(email)s.") % {"email": request.user.email})
    return redirect(url)


def sms_preview(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(SmsMessage, pk=pk)
    index_url = reverse("wagtail_segments_smsmessage_modeladmin_index")
    if not _can(request.user, "smsmessage", "view", "change"):
        return denied(request, "wagtail_segments.change_smsmessage", index_url)
    contact, found, query = chosen_contact(request)
    text, problem = "", ""
    try:
        text = render_text(message.body, contact if contact is not None else Contact())
    except MergeFieldError as error:
        problem = str(error)
    return TemplateResponse(request, "wagtail_segments/admin/message_preview.html", {
        "message": message, "channel": "sms", "contact": contact, "found": found, "query": query,
        "text": text, "problem": problem, "back_url": index_url,
    })
