"""Marketing → Form mappings: for each form page, where each answer goes on the contact and
which field identifies the submitter, chosen from lists (no keys or JSON typed).

The listing is Wagtail's ``BaseListingView`` (its table, search and pagination); the edit
screen a Django ``FormView`` in Wagtail's form layout, because its form is built from the
page's fields, not from a model's. What the editor saves is a ``FormMapping`` and lies over
the site setting and the page's code (tracking/forms.py). Each view checks its permission on
the server (403 without it); a save is recorded in the page's history with the user.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django import forms
from django.contrib import messages
from django.db.models import prefetch_related_objects
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic.edit import FormView
from wagtail.admin.menu import MenuItem
from wagtail.admin.ui.tables import Column, DateColumn, TitleColumn
from wagtail.admin.views.generic.base import BaseListingView, WagtailAdminTemplateMixin
from wagtail.models import Page

from wagtail_segments.contacts.models import PropertyDefinition, contact_field_label
from wagtail_segments.messaging.consent import asks_everyone_to_confirm, confirmation_field
from wagtail_segments.segments.choosers import form_page_models
from wagtail_segments.tracking.forms import (
    CONTACT_FIELDS,
    default_email_field,
    default_field_mapping,
    target_of,
)
from wagtail_segments.tracking.models import FormMapping

from .audit import FORM_MAPPING_CHANGED, record
from .bulk import denied, permission_name

VIEW = ("wagtail_segments.view_formmapping", "wagtail_segments.change_formmapping")
CHANGE = "wagtail_segments.change_formmapping"
IGNORE = "ignore"  # the select's value for "not copied" (None in a mapping)
# Field types that can hold an email address typed by the visitor.
EMAIL_CAPABLE = {"email", "singleline", "hidden"}
PER_PAGE = 50


def may_view(user) -> bool:
    return any(user.has_perm(permission) for permission in VIEW)


def refuse(request, permission: str):
    return denied(request, _("This needs the permission “%(permission)s”.")
                  % {"permission": permission_name(permission)})


def form_pages():
    """Every page whose type is a Wagtail form (``FormMixin``), whatever its app."""
    models = form_page_models()
    return Page.objects.type(*models) if models else Page.objects.none()


def field_type_label(form_field) -> str:
    display = getattr(form_field, "get_field_type_display", None)
    return str(display()) if display else form_field.field_type


# ---------------------------------------------------------------------------- targets


def saved_targets(mapping: FormMapping | None) -> dict[str, str | None]:
    return mapping.chosen_targets() if mapping is not None else {}


class Targets:
    """The places an answer can go, in words: the contact fields and the declared properties
    (read once per screen)."""

    def __init__(self):
        self.properties = {prop.key: prop for prop in PropertyDefinition.objects.order_by("label", "key")}

    @staticmethod
    def contact_field_label(name: str) -> str:
        return str(contact_field_label(name))

    def describe(self, target: str | None) -> str:
        if not target:
            return _("not copied")
        if target in CONTACT_FIELDS:
            return self.contact_field_label(target)
        if target.startswith("properties."):
            key = target.removeprefix("properties.")
            prop = self.properties.get(key)
            if prop is None:
                return _("property “%(key)s” (not declared)") % {"key": key}
            return _("%(property)s (%(type)s)") % {"property": prop.label or key, "type": prop.get_type_display()}
        return _("“%(target)s”, which is not a contact field or property: not copied") % {"target": target}

    def is_undeclared(self, target: str | None, *, own: str) -> bool:
        """``target`` is a property that is not declared (any more), other than the field's
        own name (which an editor may choose undeclared)."""
        return bool(target) and target.startswith("properties.") and target != f"properties.{own}" \
            and target.removeprefix("properties.") not in self.properties

    def choices(self, name: str, default: str | None, saved: str | None) -> list:
        """A field's select: its default, the contact fields, the declared properties, a
        property of its own name, and "not copied"; a saved target the lists no longer hold
        (a property since deleted) stays offered so that the screen shows what is saved."""
        contact = [(target, self.contact_field_label(target)) for target in CONTACT_FIELDS]
        declared = [(f"properties.{key}", self.describe(f"properties.{key}")) for key in self.properties]
        own = f"properties.{name}"
        if name not in self.properties and (default != own or saved == own):
            declared.append((own, _("Its own property, “%(key)s” (not declared)") % {"key": name}))
        offered = {value for value, _label in contact + declared}
        if saved and saved not in offered:
            declared.append((saved, self.describe(saved)))
        return [
            ("", _("Default: %(target)s") % {"target": self.describe(default)}),
            (_("Contact fields"), contact),
            (_("Contact properties"), declared),
            (IGNORE, _("Ignore: not copied to the contact")),
        ]


# ---------------------------------------------------------------------------- edit form


@dataclass
class FieldRow:
    """One field of the form on the edit screen."""

    name: str
    label: str
    type_label: str
    notes: list[str] = field(default_factory=list)
    bound: forms.BoundField | None = None
    # The field identifies the submitter (its answer is the email, copied nowhere): the row
    # says so instead of offering a select. Which one does follows the "identifies" select
    # (shown_when.js): the values of that select for which this row identifies, and the others.
    identifies: bool = False
    identifies_when: str = ""
    copied_when: str = ""


def target_key(name: str) -> str:
    return f"target__{name}"


class FormMappingForm(forms.Form):
    """The editor's choices for one form page: built from its fields, cleaned into a
    ``FormMapping``'s ``email_field`` and ``targets``."""

    email_field = forms.ChoiceField(
        label=gettext_lazy("Field that identifies the submitter"), required=False,
        help_text=gettext_lazy("Its answer is the contact's email: a submission with an address "
                               "already known joins that contact. It is never copied anywhere else."),
    )

    class Media:
        js = ["wagtail_segments/admin/shown_when.js"]

    def __init__(self, *args, form_fields, saved: FormMapping | None, default_email: str | None,
                 defaults: dict, targets: Targets, **kwargs):
        super().__init__(*args, **kwargs)
        self.form_fields = list(form_fields)
        self.default_email = default_email
        chosen = saved_targets(saved)
        labels = {f.clean_name: f.label for f in self.form_fields}
        default_label = (
            _("Default: “%(field)s”") % {"field": labels.get(default_email, default_email)} if default_email
            else _("Default: none (the form has no email field)")
        )
        self.fields["email_field"].choices = [("", default_label)] + [
            (f.clean_name, f"{f.label} ({field_type_label(f)})") for f in self.form_fields
            if f.field_type in EMAIL_CAPABLE or (saved is not None and f.clean_name == saved.email_field)
        ]
        if saved is not None and saved.email_field in labels:
            self.initial.setdefault("email_field", saved.email_field)
        for form_field in self.form_fields:
            name = form_field.clean_name
            value = (chosen[name] or IGNORE) if name in chosen else ""
            self.fields[target_key(name)] = forms.ChoiceField(
                label=form_field.label, required=False,
                choices=targets.choices(name, target_of(defaults, name), chosen.get(name)),
            )
            self.initial.setdefault(target_key(name), value)

    def identifies_when(self, name: str) -> list[str]:
        """The values of the "identifies" select for which the field ``name`` identifies the
        submitter: its own name, and the default when it is the default."""
        return [name, *([""] if name == self.default_email else [])]

    def cleaned_mapping(self) -> tuple[str, dict[str, str | None]]:
        """(email_field, targets) as ``FormMapping`` keeps them; only the fields the form has
        now: choices for fields since removed are forgotten, and so is a choice for the field
        that identifies the submitter (its answer is never copied: the screen offers none)."""
        email = self.cleaned_data.get("email_field") or ""
        chosen = {}
        for form_field in self.form_fields:
            value = self.cleaned_data.get(target_key(form_field.clean_name)) or ""
            if value and email not in self.identifies_when(form_field.clean_name):
                chosen[form_field.clean_name] = None if value == IGNORE else value
        return email, chosen


# ---------------------------------------------------------------------------- listing


@dataclass
class FormRow:
    """A form page in the listing, with what its mapping says."""

    pk: int
    title: str
    fields: int
    chosen: int
    email_label: str
    updated_at: object = None


def email_label(form_field_labels: dict[str, str], email: str | None) -> str:
    if not email:
        return _("No email field")
    return form_field_labels.get(email, email)


def form_rows(pages: list[Page]) -> list[FormRow]:
    """The listing's rows: each page's fields (prefetched per page type where the form keeps
    them as ``form_fields``, as Wagtail's forms do) and its saved mapping (one query)."""
    by_model: dict[type, list[Page]] = {}
    for page in pages:
        by_model.setdefault(type(page), []).append(page)
    for group in by_model.values():
        try:
            prefetch_related_objects(group, "form_fields")
        except (AttributeError, ValueError):
            pass  # a form that keeps its fields elsewhere: get_form_fields() asks for them
    saved = {mapping.page_id: mapping for mapping in FormMapping.objects.filter(page_id__in=[p.pk for p in pages])}
    rows = []
    for page in pages:
        form_fields = list(page.get_form_fields())
        labels = {f.clean_name: f.label for f in form_fields}
        mapping = saved.get(page.pk)
        targets = saved_targets(mapping)
        email = mapping.email_field if mapping is not None and mapping.email_field in labels else None
        rows.append(FormRow(
            pk=page.pk, title=page.get_admin_display_title(), fields=len(form_fields),
            chosen=sum(1 for name in targets if name in labels),
            email_label=email_label(labels, email or default_email_field(page)),
            updated_at=mapping.updated_at if mapping is not None else None,
        ))
    return rows


class FormMappingIndexView(BaseListingView):
    page_title = gettext_lazy("Form mappings")
    header_icon = "form"
    paginate_by = PER_PAGE
    is_searchable = True
    search_fields = ["title"]
    search_backend_name = None  # the titles by the ORM: every page type, any search backend
    index_url_name = "wagtail_segments_form_mappings"
    index_results_url_name = "wagtail_segments_form_mappings_results"
    default_ordering = "title"
    verbose_name_plural = gettext_lazy("form pages")
    columns = [
        TitleColumn("title", label=gettext_lazy("Form"), url_name="wagtail_segments_form_mapping_edit"),
        Column("fields", label=gettext_lazy("Fields")),
        Column("chosen", label=gettext_lazy("Fields chosen here")),
        Column("email_label", label=gettext_lazy("Identifies submitters by")),
        DateColumn("updated_at", label=gettext_lazy("Last changed")),
    ]

    def dispatch(self, request, *args, **kwargs):
        if not may_view(request.user):
            return refuse(request, CHANGE)
        return super().dispatch(request, *args, **kwargs)

    def get_base_queryset(self):
        return form_pages()

    def order_queryset(self, queryset):
        return queryset.order_by("title", "pk")

    def paginate_queryset(self, queryset, page_size):
        paginator, page, object_list, is_paginated = super().paginate_queryset(queryset, page_size)
        return paginator, page, form_rows(list(object_list.specific())), is_paginated

    @cached_property
    def no_results_message(self):
        if self.is_searching:
            return _("No form page matches your search.")
        return _("There are no form pages yet: a page built with Wagtail's form builder appears here.")


# ---------------------------------------------------------------------------- edit


class FormMappingEditView(WagtailAdminTemplateMixin, FormView):
    """One form page's fields, each with where its answer goes, and the identifying field.
    Viewing needs *view* or *change*; saving needs *change* (a viewer sees the choices
    disabled, with no Save)."""

    template_name = "wagtail_segments/admin/form_mapping_edit.html"
    header_icon = "form"

    def dispatch(self, request, *args, **kwargs):
        if not may_view(request.user):
            return refuse(request, CHANGE)
        if request.method == "POST" and not request.user.has_perm(CHANGE):
            return refuse(request, CHANGE)
        page = get_object_or_404(form_pages(), pk=kwargs["pk"]).specific
        if not hasattr(page, "get_form_fields"):
            raise Http404
        self.page = page
        self.saved = FormMapping.objects.filter(page=page).first()
        self.saved_targets = saved_targets(self.saved)
        self.targets = Targets()
        self.defaults = default_field_mapping(page)
        self.default_email = default_email_field(page)
        return super().dispatch(request, *args, **kwargs)

    @property
    def can_change(self) -> bool:
        return self.request.user.has_perm(CHANGE)

    def get_page_title(self):
        return _("Form mapping")

    def get_page_subtitle(self):
        return self.page.get_admin_display_title()

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [
            {"url": reverse("wagtail_segments_form_mappings"), "label": _("Form mappings")},
            {"url": "", "label": self.get_page_subtitle()},
        ]

    def get_form_kwargs(self):
        return {
            **super().get_form_kwargs(), "form_fields": self.page.get_form_fields(), "saved": self.saved,
            "default_email": self.default_email, "defaults": self.defaults, "targets": self.targets,
        }

    def get_form(self, form_class=None):
        form = FormMappingForm(**self.get_form_kwargs())
        if not self.can_change:
            for form_field in form.fields.values():
                form_field.disabled = True
        return form

    def rows(self, form: FormMappingForm) -> list[FieldRow]:
        chosen_email = form["email_field"].value() or ""
        email_values = [value for value, _label in form.fields["email_field"].choices]
        opt_in = None if asks_everyone_to_confirm(self.page) else confirmation_field(self.page)
        rows = []
        for form_field in form.form_fields:
            name = form_field.clean_name
            identifies_when = form.identifies_when(name)
            row = FieldRow(name=name, label=form_field.label, type_label=field_type_label(form_field),
                           bound=form[target_key(name)], identifies=chosen_email in identifies_when,
                           identifies_when=" ".join(identifies_when),
                           copied_when=" ".join(v for v in email_values if v not in identifies_when))
            if name == opt_in:
                row.notes.append(_("Ticked, it sends the submitter a confirmation email (double opt-in)."))
            if self.targets.is_undeclared(self.saved_targets.get(name), own=name):
                row.notes.append(_("The property chosen is no longer declared: answers are still stored "
                                   "under it, as given, without a type."))
            rows.append(row)
        return rows

    def removed_fields(self, form: FormMappingForm) -> list[tuple[str, str]]:
        """Saved choices for fields the form no longer has: (name, where it went)."""
        present = {f.clean_name for f in form.form_fields}
        return [(name, self.targets.describe(target)) for name, target in sorted(self.saved_targets.items())
                if name not in present]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = context["form"]
        present = {f.clean_name for f in form.form_fields}
        stale_email = self.saved.email_field if self.saved is not None and self.saved.email_field \
            and self.saved.email_field not in present else ""
        return {
            **context, "page": self.page, "rows": self.rows(form), "removed": self.removed_fields(form),
            "media": form.media,
            "stale_email": stale_email, "can_change": self.can_change,
            "everyone_confirms": asks_everyone_to_confirm(self.page),
            "action_url": self.request.path, "submit_button_label": _("Save"),
            "submit_button_active_label": _("Saving…"), "index_url": reverse("wagtail_segments_form_mappings"),
        }

    def form_valid(self, form: FormMappingForm):
        email, targets = form.cleaned_mapping()
        before = {"email_field": self.saved.email_field, "targets": self.saved.targets} if self.saved else None
        after = {"email_field": email, "targets": targets}
        if before != after and not (before is None and not email and not targets):
            FormMapping.objects.update_or_create(page=self.page, defaults=after)
            record(self.page, FORM_MAPPING_CHANGED, user=self.request.user, before=before, after=after)
        messages.success(self.request, _("Form mapping of “%(page)s” saved.") % {"page": self.page.title})
        return HttpResponseRedirect(reverse("wagtail_segments_form_mappings"))

    def form_invalid(self, form):
        messages.error(self.request, _("The form mapping could not be saved because of errors."))
        return super().form_invalid(form)


# ---------------------------------------------------------------------------- menu and URLs


class FormMappingMenuItem(MenuItem):
    def __init__(self, order: int):
        super().__init__(gettext_lazy("Form mappings"), reverse("wagtail_segments_form_mappings"),
                         icon_name="form", order=order)

    def is_shown(self, request) -> bool:
        return may_view(request.user)


def form_mapping_urls() -> list:
    from django.urls import path

    return [
        path("forms/", FormMappingIndexView.as_view(), name="wagtail_segments_form_mappings"),
        path("forms/results/", FormMappingIndexView.as_view(results_only=True),
             name="wagtail_segments_form_mappings_results"),
        path("forms/<int:pk>/", FormMappingEditView.as_view(), name="wagtail_segments_form_mapping_edit"),
    ]
