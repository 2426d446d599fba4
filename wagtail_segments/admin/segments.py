"""The segment edit screen's rule builder: who may edit rules, and the live preview beside them."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_POST
from wagtail.admin.panels import Panel, TitleFieldPanel

from .preview import Preview, error_messages, preview, segment_from_form

EDIT_RULES = "wagtail_segments.edit_segment_rules"
SEGMENT_PERMISSIONS = ("view_segment", "add_segment", "change_segment")


def can_preview(user) -> bool:
    return any(user.has_perm(f"wagtail_segments.{codename}") for codename in SEGMENT_PERMISSIONS)


class NameFieldPanel(TitleFieldPanel):
    """A new segment's name fills in its slug as it is typed, as a page title does (and a new
    property's label its key). Once saved, templates may name it by that slug
    (``{% if_segment %}``), so renaming it leaves the slug alone."""

    class BoundPanel(TitleFieldPanel.BoundPanel):
        def get_should_apply(self) -> bool:
            return self.instance is None or self.instance.pk is None


class RulesPreviewPanel(Panel):
    """"N contacts match" and the first of them, refreshed as the rules above change."""

    def __init__(self, permission: str | None = EDIT_RULES, **kwargs):
        super().__init__(**kwargs)
        self.permission = permission

    def clone_kwargs(self):
        return {**super().clone_kwargs(), "permission": self.permission}

    class BoundPanel(Panel.BoundPanel):
        template_name = "wagtail_segments/admin/rules_preview_panel.html"

        def is_shown(self) -> bool:
            permission = self.panel.permission
            return not permission or self.request.user.has_perm(permission)

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            context["preview_url"] = reverse("wagtail_segments_rules_preview")
            context["segment_id"] = self.instance.pk or ""
            return context

        @property
        def media(self):
            return forms.Media(js=["wagtail_segments/admin/segment_builder.js"])


@require_POST
def rules_preview(request: HttpRequest) -> HttpResponse:
    """The preview of the posted (unsaved) rules, as an HTML fragment for the edit screen."""
    if not can_preview(request.user):
        # A plain 403: Wagtail turns PermissionDenied into a redirect to the dashboard, which
        # the builder's script would show as the preview.
        return HttpResponseForbidden()
    try:
        pk = int(request.POST.get("segment_id") or 0) or None
    except ValueError:
        pk = None
    try:
        segment = segment_from_form(request.POST, request.FILES, pk=pk)
    except ValidationError as error:
        result = Preview(problems=error_messages(error))
        invalid = True
    else:
        result = preview(segment)
        invalid = False
    return TemplateResponse(request, "wagtail_segments/admin/rules_preview.html", {
        "preview": result, "invalid": invalid,
    })


class RulesLockedPanel(Panel):
    """Tells an editor without the "edit segment rules" permission why the rules are not
    shown, instead of leaving an empty Rules section."""

    class BoundPanel(Panel.BoundPanel):
        template_name = "wagtail_segments/admin/rules_locked_panel.html"

        def is_shown(self) -> bool:
            return not self.request.user.has_perm(EDIT_RULES)


def _without_ids(data):
    if isinstance(data, dict):
        return {key: _without_ids(value) for key, value in data.items() if key != "id"}
    if isinstance(data, list):
        return [_without_ids(item) for item in data]
    return data


def comparable_rules(match: str, rules) -> tuple[str, list]:
    """A segment's match and rules as plain data without the blocks' ids, to tell a real
    change from a re-save."""
    raw = getattr(rules, "raw_data", rules)
    return match, _without_ids(list(raw or []))
