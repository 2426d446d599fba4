"""A segment's members screen: who is in it and how they came in, add and remove by hand,
import a CSV (a task, with progress and its per-row report), export a CSV, the members whose
reminder period ran out, the size over time, and "Rebuild now".

Viewing needs a segment permission; changing members, importing and rebuilding need
*Can change segment*; exporting needs *Can export contacts*. Member changes and exports are
recorded in the audit log with the user.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field

from django import forms
from django.contrib import messages
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from wagtail_segments.contacts.models import Contact
from wagtail_segments.segments.exporting import members_csv_lines
from wagtail_segments.segments.history import daily_counts
from wagtail_segments.segments.importing import import_contacts
from wagtail_segments.segments.manual import add_contacts, remove_contacts
from wagtail_segments.segments.models import Membership, Segment
from wagtail_segments.segments.reminders import expired_count, expired_members
from wagtail_segments.segments.tasks import enqueue

from . import audit
from .charts import by_day, chart
from .permissions import require_any

VIEW = ("wagtail_segments.view_segment", "wagtail_segments.add_segment", "wagtail_segments.change_segment")
CHANGE = "wagtail_segments.change_segment"
EXPORT = "wagtail_segments.export_contacts"
MEMBERS_PAGE_SIZE = 50
EXPIRED_SHOWN = 50
HISTORY_DAYS = 90
PROGRESS_SECONDS = 24 * 3600


class AddMemberForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("Email of the contact to add"))


class ImportForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("CSV file"),
                           help_text=gettext_lazy("A header row, then one contact a row; an email column is needed."))
    update_existing = forms.BooleanField(label=gettext_lazy("Update contacts that already exist"), required=False,
                                         initial=True)


def members_url(segment: Segment) -> str:
    return reverse("wagtail_segments_segment_members", args=[segment.pk])


@require_any(*VIEW)
def segment_members(request: HttpRequest, pk: int) -> HttpResponse:
    segment = get_object_or_404(Segment, pk=pk)
    members = (Membership.objects.filter(segment=segment, excluded=False)
               .select_related("contact").order_by("-added_at", "-pk"))
    page = Paginator(members, MEMBERS_PAGE_SIZE).get_page(request.GET.get("p"))
    history = daily_counts(segment, HISTORY_DAYS)
    can_change = request.user.has_perm(CHANGE)
    context = {
        "segment": segment,
        "members": page,
        "can_change": can_change,
        "can_export": request.user.has_perm(EXPORT),
        "add_form": AddMemberForm() if can_change else None,
        "import_form": ImportForm() if can_change else None,
        "size_chart": chart(_("Members of “%(segment)s” by day") % {"segment": segment.name},
                            by_day(history),
                            value_label=_("Members"), label_heading=_("Day")),
    }
    if segment.reminder_days:
        context["expired_count"] = expired_count(segment)
        context["expired"] = list(expired_members(segment).order_by("pk")[:EXPIRED_SHOWN])
    return TemplateResponse(request, "wagtail_segments/admin/segment_members.html", context)


@require_any(CHANGE)
@require_POST
def segment_add_member(request: HttpRequest, pk: int) -> HttpResponse:
    segment = get_object_or_404(Segment, pk=pk)
    form = AddMemberForm(request.POST)
    contact = Contact.objects.live().with_email(form.data.get("email", "")).first() if form.is_valid() else None
    if contact is None:
        messages.error(request, _("No contact has this email: import it or create it first."))
    else:
        added = add_contacts(segment, [contact])
        audit.record(segment, audit.MEMBERS_ADDED, user=request.user, count=added, ids=[contact.pk])
        messages.success(request, _("%(contact)s added.") % {"contact": contact} if added
                         else _("%(contact)s was already a member.") % {"contact": contact})
    return redirect(members_url(segment))


@require_any(CHANGE)
@require_POST
def segment_remove_member(request: HttpRequest, pk: int) -> HttpResponse:
    segment = get_object_or_404(Segment, pk=pk)
    contact = get_object_or_404(Contact, pk=request.POST.get("contact") if str(request.POST.get("contact", "")).isdigit() else 0)
    removed = remove_contacts(segment, [contact])
    audit.record(segment, audit.MEMBERS_REMOVED, user=request.user, count=removed, ids=[contact.pk])
    messages.success(request, _("%(contact)s removed; the rules will not add them back.") % {"contact": contact}
                     if segment.kind == Segment.Kind.DYNAMIC else _("%(contact)s removed.") % {"contact": contact})
    return redirect(members_url(segment))


@require_any(CHANGE)
@require_POST
def segment_rebuild(request: HttpRequest, pk: int) -> HttpResponse:
    segment = get_object_or_404(Segment, pk=pk)
    enqueue("wagtail_segments.segments.tasks.rebuild_segment_by_id", segment.pk)
    messages.success(request, _("The rebuild has started; the member count updates when it is done."))
    return redirect(members_url(segment))


@require_any(EXPORT)
def segment_export(request: HttpRequest, pk: int) -> HttpResponse:
    segment = get_object_or_404(Segment, pk=pk)
    audit.record(segment, audit.CONTACTS_EXPORTED, user=request.user, segment=segment.slug,
                 count=segment.member_count)
    response = StreamingHttpResponse(members_csv_lines(segment), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{segment.slug}.csv"'
    return response


# Import: the upload is stored, a task reads it; the progress and the report live in the cache.

@dataclass
class ImportProgress:
    segment: int
    rows: int = 0
    finished: bool = False
    failed: str = ""
    summary: list[str] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)
    warnings: list[tuple[int, str]] = field(default_factory=list)
    left_off: int = 0


def import_key(job: str) -> str:
    return f"wagtail_segments:segment-import:{job}"


@require_any(CHANGE)
@require_POST
def segment_import(request: HttpRequest, pk: int) -> HttpResponse:
    from django_q.tasks import async_task

    segment = get_object_or_404(Segment, pk=pk)
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choose a CSV file to import."))
        return redirect(members_url(segment))
    job = uuid.uuid4().hex
    path = default_storage.save(f"wagtail_segments/imports/{job}.csv", form.cleaned_data["file"])
    cache.set(import_key(job), asdict(ImportProgress(segment=segment.pk)), PROGRESS_SECONDS)
    audit.record(segment, audit.MEMBERS_ADDED, user=request.user, imported_file=form.cleaned_data["file"].name)
    async_task("wagtail_segments.admin.segment_views.run_import_task", job, segment.pk, path,
               bool(form.cleaned_data["update_existing"]), group="wagtail_segments")
    return redirect(reverse("wagtail_segments_segment_import_progress", args=[segment.pk, job]))


def run_import_task(job: str, segment_id: int, path: str, update_existing: bool) -> int:
    """The task behind an import uploaded in the admin: the engine's import, its progress and
    report written where the progress page reads them; the upload is deleted afterwards."""
    state = ImportProgress(segment=segment_id)

    def save(report=None) -> None:
        if report is not None:
            state.rows, state.left_off = report.rows, report.messages_left_off
            state.errors, state.warnings = list(report.errors), list(report.warnings)
        cache.set(import_key(job), asdict(state), PROGRESS_SECONDS)

    try:
        with default_storage.open(path, "rb") as handle:
            report = import_contacts(handle, segment=Segment.objects.get(pk=segment_id),
                                     update_existing=update_existing, progress=save)
        state.summary = [report.fatal] if report.fatal else report.summary_lines()
        save(report)
        return report.imported
    except Exception as error:
        state.failed = str(error) or error.__class__.__name__
        raise
    finally:
        state.finished = True
        save()
        default_storage.delete(path)


@require_any(CHANGE)
def segment_import_progress(request: HttpRequest, pk: int, job: str) -> HttpResponse:
    segment = get_object_or_404(Segment, pk=pk)
    state = cache.get(import_key(job))
    if state is None or state["segment"] != segment.pk:
        messages.error(request, _("This import is unknown or finished long ago."))
        return redirect(members_url(segment))
    return TemplateResponse(request, "wagtail_segments/admin/segment_import.html", {
        "segment": segment, "progress": ImportProgress(**state), "back_url": members_url(segment),
    })


def reminder_status(segment: Segment) -> str:
    """A reminder segment's state for the listing: a green dot and "All touched in time", or a
    red one and how many members are expired; the words carry it, the dot only repeats it."""
    from django.utils.html import format_html
    from django.utils.translation import ngettext

    if not segment.reminder_days:
        return ""
    count = expired_count(segment)
    if not count:
        return format_html('<span class="wsg-dot wsg-dot--ok" aria-hidden="true"></span>{}', _("All touched in time"))
    return format_html(
        '<span class="wsg-dot wsg-dot--late" aria-hidden="true"></span>{}',
        ngettext("%(count)s expired member", "%(count)s expired members", count) % {"count": count},
    )
