"""Bulk actions on the contacts listing: on the contacts ticked, or on everyone the listing's
filters and search match.

Why not Wagtail's bulk-action framework: its views load every chosen object into memory and
list them on the confirmation page, and "select all" ignores the listing's filters. At a
million contacts neither works, so these views keep the framework's shape (choose, confirm
with the count, act, report) with Wagtail's templates and components, and work on ids in
batches: the filters are re-applied on the server by the listing's own view, the set is
frozen at the highest contact id when the count was shown, and a large set runs as a
django-q2 task whose progress the editor watches.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from typing import Iterator

from django.contrib import messages
from django.core.cache import cache
from django.db.models import Max, QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from wagtail_segments import conf
from wagtail_segments.contacts.models import Contact
from wagtail_segments.segments.manual import contact_id_batches

from . import audit
from .bulk_actions import ACTIONS, ContactsBulkAction, contacts_csv_lines

LISTING_PERMISSIONS = ("wagtail_segments.view_contact", "wagtail_segments.change_contact")
PROGRESS_SECONDS = 24 * 3600
MAX_SELECTED = 10_000


@dataclass
class Selection:
    """Which contacts a bulk action acts on: the ids ticked, or everyone ``filters`` (the
    listing's query string) matches among contacts up to ``up_to`` (the newest id when the
    editor saw the count, so contacts arriving meanwhile are not swept in)."""

    ids: list[int] | None = None
    filters: str = ""
    up_to: int = 0

    @classmethod
    def from_data(cls, data: QueryDict) -> "Selection":
        if data.get("scope") == "all":
            try:
                up_to = int(data.get("up_to") or 0)
            except ValueError:
                up_to = 0
            if not up_to:
                up_to = Contact.objects.aggregate(top=Max("pk"))["top"] or 0
            return cls(filters=data.get("filters") or "", up_to=up_to)
        ids = [int(value) for value in data.getlist("id")[:MAX_SELECTED] if value.isdigit()]
        return cls(ids=ids)

    def contacts(self, user) -> QuerySet:
        if self.ids is not None:
            return Contact.objects.live().filter(pk__in=self.ids)
        return contacts_matching(user, self.filters).filter(pk__lte=self.up_to)

    def batches(self, user) -> Iterator[list[int]]:
        return contact_id_batches(self.contacts(user))

    def as_fields(self) -> list[tuple[str, str]]:
        """The hidden inputs that carry this selection through the confirmation form."""
        if self.ids is not None:
            return [("scope", "selected"), *(("id", str(pk)) for pk in self.ids)]
        return [("scope", "all"), ("filters", self.filters), ("up_to", str(self.up_to))]


def contacts_matching(user, querystring: str) -> QuerySet:
    """The contacts the contacts listing shows for ``querystring`` (filters, search), computed
    by the listing's own view so that the two can never disagree."""
    from .menu import ContactAdmin

    request = HttpRequest()
    request.method = "GET"
    request.user = user
    request.GET = QueryDict(querystring)
    request.wsg_queryset_only = True
    model_admin = ContactAdmin()
    return model_admin.index_view_class.as_view(model_admin=model_admin)(request).order_by()


def listing_url(selection: Selection) -> str:
    url = reverse("wagtail_segments_contact_modeladmin_index")
    return f"{url}?{selection.filters}" if selection.filters else url


def allowed(user, action: ContactsBulkAction) -> bool:
    return any(user.has_perm(p) for p in LISTING_PERMISSIONS) and user.has_perm(action.permission)


def permission_name(permission: str) -> str:
    """A permission's name as the group editor shows it ("Can export contacts")."""
    from django.contrib.auth.models import Permission

    app_label, codename = permission.split(".", 1)
    found = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
    return str(found.name) if found else permission


def denied(request: HttpRequest, message: str) -> HttpResponse:
    back = reverse("wagtail_segments_contact_modeladmin_index")
    return TemplateResponse(request, "wagtail_segments/admin/denied.html", {"message": message, "back_url": back},
                            status=403)


def bulk_contacts(request: HttpRequest) -> HttpResponse:
    """Confirm (GET) and run (POST) one bulk action on a selection of contacts."""
    data = request.POST if request.method == "POST" else request.GET
    action = ACTIONS.get(data.get("action") or "")
    if action is None:
        return denied(request, _("Choose an action."))
    if not allowed(request.user, action):
        return denied(request, _("“%(action)s” needs the permission “%(permission)s”; ask an administrator.") % {
            "action": action.label, "permission": permission_name(action.permission)})
    selection = Selection.from_data(data)
    form = action.form_class(request.POST if request.method == "POST" else None)
    count = selection.contacts(request.user).count()
    if request.method == "POST" and form.is_valid() and count:
        return act(request, action, selection, form, count)
    return TemplateResponse(request, "wagtail_segments/admin/bulk_confirm.html", {
        "action": action, "form": form, "count": count, "selection_fields": selection.as_fields(),
        "back_url": listing_url(selection), "everyone": selection.ids is None,
    })


def act(request: HttpRequest, action: ContactsBulkAction, selection: Selection, form, count: int) -> HttpResponse:
    options = form.cleaned_data
    summary = ngettext("%(action)s: %(count)s contact", "%(action)s: %(count)s contacts", count) % {
        "action": action.describe(options), "count": count,
    }
    record(action, options, request.user, summary, selection, count)
    if action.name == "export":
        response = StreamingHttpResponse(
            contacts_csv_lines(selection.batches(request.user)), content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = 'attachment; filename="contacts.csv"'
        return response
    if count > conf.settings.ADMIN_BULK_TASK_THRESHOLD:
        job = start_task(action, selection, form.data, request.user, count)
        return redirect(reverse("wagtail_segments_contacts_bulk_progress", args=[job]))
    done = action.run(selection.batches(request.user), options, lambda n: None)
    messages.success(request, _("Done. %(summary)s (%(done)s changed).") % {"summary": summary, "done": done})
    return redirect(listing_url(selection))


def record(action: ContactsBulkAction, options: dict, user, summary: str, selection: Selection, count: int) -> None:
    data = {"count": count, "filters": selection.filters if selection.ids is None else None,
            "contacts": selection.ids if selection.ids is not None and len(selection.ids) <= 100 else None}
    target = action.audit_target(options)
    if target is not None:
        audit.record(target, action.audit_action, user=user, summary=summary, **data)
    else:
        audit.record_many(Contact, action.audit_action, user, summary, **data)


# Large sets: a django-q2 task, its progress in the cache (a shared cache, e.g. Redis, in
# production: the worker writes it, the web process reads it).

@dataclass
class Progress:
    total: int
    done: int = 0
    changed: int = 0
    finished: bool = False
    failed: str = ""
    summary: str = field(default="")


def progress_key(job: str) -> str:
    return f"wagtail_segments:bulk:{job}"


def start_task(action: ContactsBulkAction, selection: Selection, option_data, user, count: int) -> str:
    from django_q.tasks import async_task

    job = uuid.uuid4().hex
    cache.set(progress_key(job), asdict(Progress(total=count, summary=str(action.label))), PROGRESS_SECONDS)
    options = {key: option_data.get(key) for key in action.form_class.base_fields}
    async_task("wagtail_segments.admin.bulk.run_bulk_task", job, action.name, asdict(selection), options,
               user.pk, group="wagtail_segments")
    return job


def run_bulk_task(job: str, action_name: str, selection: dict, options: dict, user_id: int) -> int:
    """The task behind a large bulk action: the same action, in batches, with progress."""
    from django.contrib.auth import get_user_model

    action = ACTIONS[action_name]
    user = get_user_model().objects.get(pk=user_id)
    state = Progress(**cache.get(progress_key(job), {"total": 0}))
    form = action.form_class(options)
    if not form.is_valid():
        state.failed, state.finished = _("The action's options are no longer valid."), True
        cache.set(progress_key(job), asdict(state), PROGRESS_SECONDS)
        return 0

    def advance(n: int) -> None:
        state.done += n
        cache.set(progress_key(job), asdict(state), PROGRESS_SECONDS)

    try:
        state.changed = action.run(Selection(**selection).batches(user), form.cleaned_data, advance)
    except Exception as error:
        state.failed = str(error) or error.__class__.__name__
        raise
    finally:
        state.finished = True
        cache.set(progress_key(job), asdict(state), PROGRESS_SECONDS)
    return state.changed


def bulk_progress(request: HttpRequest, job: str) -> HttpResponse:
    state = cache.get(progress_key(job))
    if state is None or not any(request.user.has_perm(p) for p in LISTING_PERMISSIONS):
        return denied(request, _("This bulk action is unknown or finished long ago."))
    return TemplateResponse(request, "wagtail_segments/admin/bulk_progress.html", {
        "progress": Progress(**state), "listing_url": reverse("wagtail_segments_contact_modeladmin_index"),
    })
