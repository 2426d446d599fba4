"""The contact create/edit form: one typed field per declared property instead of a JSON box.

Each declared property (Marketing → Contact properties) gets a field of its type, checked by
``contacts.properties.normalise_property``, the same code that types form answers and CSV
imports. Keys no property declares (a form answer stored under its own name, an import's
extra column) are shown read-only by ``PropertiesPanel`` and kept as they are.

Saving writes only the properties the editor changed, onto the contact's properties as they
are at that moment (read under a row lock), so that a value a form submission or a campaign
stored while the form was open is not wiped. What the editor saw is posted back beside each
field (Django's ``show_hidden_initial``), so "changed" means changed by the editor, not
"different from the database now".
"""

from __future__ import annotations

import zoneinfo
from typing import Any

from django import forms
from django.db import transaction
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.panels import ObjectList, Panel
from wagtail.admin.templatetags.wagtailadmin_tags import render_with_errors
from wagtail.admin.widgets import AdminAutoHeightTextInput, AdminDateInput

from wagtail_segments.contacts.countries import country_choices_keeping, country_codes
from wagtail_segments.contacts.models import PropertyDefinition
from wagtail_segments.contacts.properties import PropertyValueError, normalise_property

from .timeline import as_text

FIELD_PREFIX = "property__"  # no model field has a double underscore in its name
Type = PropertyDefinition.Type
BOOLEAN_CHOICES = [("", _("Not set")), ("true", _("Yes")), ("false", _("No"))]


def time_zone_choices(stored: str = "") -> list[tuple[str, str]]:
    """Every IANA time zone by name, after "the site's"; a stored name that is not one stays
    listed, marked, so that saving the contact does not clear it."""
    zones = sorted(zoneinfo.available_timezones())
    choices = [("", _("The site's time zone"))] + [(zone, zone) for zone in zones]
    if stored and stored not in zones:
        choices.append((stored, _("%(zone)s (not a known time zone)") % {"zone": stored}))
    return choices


def country_field(model_field: forms.Field, stored: str) -> forms.ChoiceField:
    """The contact's country chosen by name (in the editor's language), stored as its code;
    a stored code that is no known country stays a choice."""
    return forms.ChoiceField(
        label=model_field.label, required=False, help_text=model_field.help_text,
        choices=country_choices_keeping(stored, empty_label=_("No country")),
    )


def shown_text(value: Any) -> str:
    """A stored property value as its field shows it (and as the editor posts it back)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return as_text(value, None)
    return str(value)


class PropertyField(forms.CharField):
    """One declared property. ``clean`` returns the value to store, typed by
    ``normalise_property``; a value the editor left as it was is returned as stored, unchecked,
    so that a contact whose old value does not fit the type can still be saved."""

    def __init__(self, definition: PropertyDefinition, stored: Any, **kwargs):
        self.key = definition.key
        self.types = {definition.key: definition.type}
        self.stored = stored
        self.edited = True  # the form says otherwise once it has compared what was shown
        super().__init__(required=False, show_hidden_initial=True, initial=shown_text(stored), **kwargs)

    def to_python(self, value):
        # Browsers post a textarea's line breaks as CRLF: the same text, not a change.
        return super().to_python(value).replace("\r\n", "\n")

    def clean(self, value):
        text = super().clean(value)
        if not self.edited:
            return self.stored
        try:
            return normalise_property(self.key, text, self.types)
        except PropertyValueError as error:
            raise forms.ValidationError(str(error), code="invalid") from None


def property_field(definition: PropertyDefinition, stored: Any) -> PropertyField:
    """The field for ``definition``, showing ``stored``: a widget for its type, its label and
    description, and a warning when the stored value does not fit the type."""
    kind = definition.type
    if kind == Type.DATE:
        # The picker writes ISO dates whatever WAGTAIL_DATE_FORMAT says; typed dates are read
        # as imports read them.
        widget = AdminDateInput(format="%Y-%m-%d")
    elif kind == Type.BOOLEAN:
        choices = list(BOOLEAN_CHOICES)
        if shown_text(stored) not in dict(choices):
            choices.append((shown_text(stored), shown_text(stored)))  # kept, not silently cleared
        widget = forms.Select(choices=choices)
    elif kind == Type.NUMBER:
        widget = forms.TextInput()
    else:
        widget = AdminAutoHeightTextInput()
    help_text = definition.description
    if stored is not None and kind != Type.TEXT:
        try:
            normalise_property(definition.key, stored, {definition.key: kind})
        except PropertyValueError as error:
            kept = _("It is kept until you change it.")
            help_text = " ".join(str(part) for part in (help_text, error, kept) if part)
    return PropertyField(definition, stored, label=definition.label or definition.key, help_text=help_text,
                         widget=widget)


class ContactForm(WagtailAdminModelForm):
    """The contact form with its declared properties as typed fields (``properties`` itself
    is not a field of the form)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "time_zone" in self.fields:
            self.fields["time_zone"].widget = forms.Select(choices=time_zone_choices(self.instance.time_zone))
        if "country" in self.fields:
            stored = self.instance.country
            if stored.upper() in country_codes():  # "fr" from an import is France
                stored = self.initial["country"] = stored.upper()
            self.fields["country"] = country_field(self.fields["country"], stored)
        stored = self.instance.properties or {}
        self.property_names: dict[str, str] = {}  # form field name -> property key
        for definition in PropertyDefinition.objects.order_by("label", "key"):
            name = FIELD_PREFIX + definition.key
            self.fields[name] = property_field(definition, stored.get(definition.key))
            self.property_names[name] = definition.key
        if self.is_bound:
            for name in self.property_names:
                self.fields[name].edited = name in self.changed_data

    @property
    def declared_keys(self) -> set[str]:
        return set(self.property_names.values())

    def property_changes(self) -> dict[str, Any]:
        """The properties the editor changed, typed (None for a typed property emptied)."""
        return {key: self.cleaned_data[name] for name, key in self.property_names.items()
                if name in self.changed_data}

    def save(self, commit: bool = True):
        instance = super().save(commit=False)
        changes = self.property_changes()
        if not commit:
            instance.properties = {**(instance.properties or {}), **changes}
            return instance
        with transaction.atomic():
            if not instance._state.adding:
                current = (type(instance).objects.select_for_update().filter(pk=instance.pk)
                           .values_list("properties", flat=True).first())
                instance.properties = {**(current or {}), **changes}
            else:
                instance.properties = {**(instance.properties or {}), **changes}
            instance.save()
            self._save_m2m()
        return instance


class PropertiesPanel(Panel):
    """The typed property fields of ``ContactForm`` in Wagtail's field layout, then the
    properties no definition declares as a read-only table. On a form without property
    fields (a company's) it shows the table alone."""

    def __init__(self, other_help: str = "", **kwargs):
        super().__init__(**kwargs)
        self.other_help = other_help

    def clone_kwargs(self):
        return {**super().clone_kwargs(), "other_help": self.other_help}

    class BoundPanel(Panel.BoundPanel):
        template_name = "wagtail_segments/admin/properties_panel.html"

        def fields(self) -> list[tuple[forms.BoundField, str]]:
            """Each field with its HTML: the widget, then what the editor was shown (a hidden
            input that Wagtail's field template would leave out)."""
            names = getattr(self.form, "property_names", {})
            shown = []
            for name in names:
                bound = self.form[name]
                html = conditional_escape(render_with_errors(bound)) + bound.as_hidden(only_initial=True)
                shown.append((bound, mark_safe(html)))  # noqa: S308 - both parts rendered by Django
            return shown

        def others(self) -> list[tuple[str, str]]:
            declared = getattr(self.form, "declared_keys", set())
            stored = (self.instance.properties if self.instance is not None else None) or {}
            # By key: PostgreSQL's jsonb keeps no insertion order, so stored order would differ by database.
            return sorted((str(key), as_text(value, None)) for key, value in stored.items() if key not in declared)

        def is_shown(self) -> bool:
            return bool(getattr(self.form, "property_names", None) or self.others())

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            context["fields"] = self.fields()
            context["others"] = self.others()
            context["other_help"] = self.panel.other_help
            return context


class ObjectListWithProperties(ObjectList):
    """The form's top level when a ``PropertiesPanel`` is in it. Wagtail renders again, at the
    end of the form, every field no panel named when the form class was built; the property
    fields are added per request and drawn by ``PropertiesPanel``, so they are left out
    there (posted twice, the second copy would win)."""

    class BoundPanel(ObjectList.BoundPanel):
        def render_missing_fields(self):
            claimed = {*self.panel.get_form_options().get("fields", []), *getattr(self.form, "property_names", ())}
            missing = "".join(str(self.form[name]) for name in self.form.fields if name not in claimed)
            return mark_safe(missing)  # noqa: S308 - each rendered by Django
