"""The contact detail screen's parts and actions: segments, consents, campaign runs and the
paginated timeline beside the profile; tags edited in place; a manual touchpoint; privacy
(export everything as JSON, erase after a confirmation that says what goes).

Every action checks its permission on the server and answers 403 without it; exports and
erasures are recorded in Wagtail's audit log with the user (an erasure without personal data:
the entry keeps only how many rows went).
"""

from __future__ import annotations

import json

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext_lazy
from django.views.decorators.http import require_POST

from wagtail_segments.campaigns.models import Run
from wagtail_segments.contacts.countries import country_label
from wagtail_segments.contacts.models import Contact, Event, Touchpoint
from wagtail_segments.contacts.touchpoints import log_touchpoint
from wagtail_segments.messaging.models import Consent, Delivery
from wagtail_segments.messaging.reasons import reason_label, source_label
from wagtail_segments.privacy import contact_family, erase_contact, export_contact
from wagtail_segments.segments.models import Membership

from . import audit
from .permissions import require_any
from .widgets import TagNamesField
from .timeline import event_details, form_field_labels, headline, message_names
from .views import TIMELINE_PAGE_SIZE, ContactInspectView

CHANGE = "wagtail_segments.change_contact"
EXPORT = "wagtail_segments.export_contacts"
ERASE = "wagtail_segments.erase_contact"
MANUAL_KINDS = [(kind.value, kind.label) for kind in Touchpoint.Kind if kind not in Touchpoint.AUTOMATIC_KINDS]


class TagsForm(forms.Form):
    tags = TagNamesField(label=gettext_lazy("Tags"), required=False)


class TouchpointForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("What"), choices=MANUAL_KINDS)
    note = forms.CharField(label=gettext_lazy("Note"), required=False, max_length=5000,
                           widget=forms.Textarea(attrs={"rows": 3}))


def detail_url(contact: Contact) -> str:
    return reverse("wagtail_segments_contact_modeladmin_inspect", args=[contact.pk])


class ContactDetailView(ContactInspectView):
    """The contact's profile with everything the package knows about them, newest first."""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        contact, user = self.instance, self.request.user
        events = contact.events.select_related("page").order_by("-time", "-id")
        context["timeline"] = timeline = Paginator(events, TIMELINE_PAGE_SIZE).get_page(self.request.GET.get("p"))
        labels = form_field_labels(event.page_id for event in timeline if event.page_id and event.kind == "form_submission")
        messages = message_names(timeline)
        context["entries"] = [(event, headline(event, messages), event_details(event, labels)) for event in timeline]
        context["memberships"] = (
            Membership.objects.filter(contact=contact).select_related("segment").order_by("segment__name")
        )
        consents = Consent.objects.filter(contact=contact).select_related("form_page").order_by("-requested_at")
        context["consents"] = [(consent, source_label(consent.source)) for consent in consents]
        context["do_not_email_reason"] = reason_label(contact.do_not_email_reason)
        context["do_not_sms_reason"] = reason_label(contact.do_not_sms_reason)
        context["runs"] = (
            Run.objects.filter(contact=contact).select_related("campaign", "step").order_by("-entered_at")[:50]
        )
        context["touchpoints"] = contact.touchpoints.order_by("-time")[:5]
        context["can_change"] = user.has_perm(CHANGE)
        context["can_export"] = user.has_perm(EXPORT)
        context["can_erase"] = user.has_perm(ERASE)
        if context["can_change"]:
            context["tags_form"] = TagsForm(initial={"tags": list(contact.tags.all())})
            context["touchpoint_form"] = TouchpointForm()
        context["properties"] = property_rows(contact)
        context["country"] = country_label(contact.country)
        return context


def property_rows(contact: Contact) -> list[tuple[str, str]]:
    """The contact's properties under their declared labels (undeclared ones by key)."""
    from wagtail_segments.contacts.models import PropertyDefinition

    labels = dict(PropertyDefinition.objects.filter(key__in=list(contact.properties or {})).values_list("key", "label"))
    return [(labels.get(key, key), value) for key, value in (contact.properties or {}).items()]


@require_any(CHANGE)
@require_POST
def contact_tags(request: HttpRequest, pk: int) -> HttpResponse:
    """Replace the contact's tags with those posted (change-contact permission)."""
    contact = get_object_or_404(Contact.objects.live(), pk=pk)
    form = TagsForm(request.POST)
    if form.is_valid():
        contact.tags.set(form.cleaned_data["tags"])
        messages.success(request, _("Tags saved."))
    else:
        messages.error(request, _("The tags could not be saved: %(errors)s") % {"errors": form.errors.as_text()})
    return redirect(detail_url(contact))


@require_any(CHANGE)
@require_POST
def contact_touchpoint(request: HttpRequest, pk: int) -> HttpResponse:
    """Log a call, meeting or note by the signed-in user (change-contact permission)."""
    contact = get_object_or_404(Contact.objects.live(), pk=pk)
    form = TouchpointForm(request.POST)
    if form.is_valid():
        touchpoint = log_touchpoint(contact, form.cleaned_data["kind"], note=form.cleaned_data["note"], user=request.user)
        messages.success(request, _("%(kind)s logged.") % {"kind": touchpoint.get_kind_display()})
    else:
        messages.error(request, _("The touchpoint was not logged: %(errors)s") % {"errors": form.errors.as_text()})
    return redirect(detail_url(contact))


@require_any(EXPORT)
def contact_export(request: HttpRequest, pk: int) -> HttpResponse:
    """Everything held about the contact as a JSON download ("export contacts" permission)."""
    contact = get_object_or_404(Contact.objects.live(), pk=pk)
    data = export_contact(contact)
    audit.record(contact, audit.CONTACT_EXPORTED, user=request.user, events=len(data["events"]))
    response = HttpResponse(json.dumps(data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False),
                            content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="contact-{contact.uuid}.json"'
    return response


def erasure_counts(contact: Contact) -> list[str]:
    """What erasing ``contact`` deletes, by kind, as lines for the confirmation page (each with
    its own plural: a count and a noun cannot be pasted together in every language)."""
    family = contact_family(contact)
    counts = [
        (len(family) - 1, ngettext_lazy("%(count)s merged contact record", "%(count)s merged contact records", "count")),
        (Event.objects.filter(contact__in=family).count(),
         ngettext_lazy("%(count)s event on the timeline", "%(count)s events on the timeline", "count")),
        (Membership.objects.filter(contact__in=family).count(),
         ngettext_lazy("%(count)s segment membership", "%(count)s segment memberships", "count")),
        (Run.objects.filter(contact__in=family).count(),
         ngettext_lazy("%(count)s campaign run and its history", "%(count)s campaign runs and their history", "count")),
        (Delivery.objects.filter(contact__in=family).count(),
         ngettext_lazy("%(count)s message sent", "%(count)s messages sent", "count")),
        (Consent.objects.filter(contact__in=family).count(),
         ngettext_lazy("%(count)s consent", "%(count)s consents", "count")),
        (Touchpoint.objects.filter(contact__in=family).count(),
         ngettext_lazy("%(count)s touchpoint", "%(count)s touchpoints", "count")),
        (Event.objects.filter(contact__in=family, kind="form_submission").count(),
         ngettext_lazy("%(count)s form submission", "%(count)s form submissions", "count")),
    ]
    return [line % {"count": count} for count, line in counts if count]


@require_any(ERASE)
def contact_erase(request: HttpRequest, pk: int) -> HttpResponse:
    """A confirmation that says what will be deleted; on POST, the erasure ("erase a contact")."""
    contact = get_object_or_404(Contact.objects.live(), pk=pk)
    if request.method == "POST":
        counts = erase_contact(contact)
        # No personal data in the entry: the erased row's id and counts only.
        audit.record_many(Contact, audit.CONTACT_ERASED, request.user,
                          _("A contact was erased (id %(id)s)") % {"id": pk},
                          contact_id=pk, deleted=counts, erased_at=timezone.now().isoformat())
        messages.success(request, _("The contact and everything about them were erased."))
        return redirect(reverse("wagtail_segments_contact_modeladmin_index"))
    return TemplateResponse(request, "wagtail_segments/admin/contact_erase.html", {
        "contact": contact, "counts": erasure_counts(contact), "back_url": detail_url(contact),
    })
