"""The merge fields a message may use, listed beside the email and SMS forms, so that an
editor copies ``{{ properties.renewal_date }}`` instead of guessing a key.

The contact's own fields come from ``messaging.merge.merge_context`` (the list follows what
messages can really read); the properties are the declared ones, with their labels.
"""

from __future__ import annotations

from django.core.exceptions import FieldDoesNotExist
from django.utils.translation import gettext as _
from wagtail.admin.panels import Panel

from wagtail_segments.contacts.models import Contact, PropertyDefinition, contact_field_label
from wagtail_segments.messaging.merge import merge_context


def field_label(name: str) -> str:
    special = {"full_name": _("First and last name"), "company": _("Company name")}
    if name in special:
        return special[name]
    try:
        return contact_field_label(name)
    except FieldDoesNotExist:
        return name


def merge_fields() -> list[tuple[str, str]]:
    """(what to type, what it holds) for each merge field a message can use."""
    own = [name for name in merge_context(Contact()) if name != "properties"]
    fields = [(f"{{{{ {name} }}}}", field_label(name)) for name in own]
    for definition in PropertyDefinition.objects.order_by("label", "key"):
        label = _("%(property)s (%(type)s)") % {"property": definition.label or definition.key,
                                                "type": definition.get_type_display()}
        fields.append((f"{{{{ properties.{definition.key} }}}}", label))
    return fields


class MergeFieldsPanel(Panel):
    """A read-only list of the merge fields, with how to give one a fallback."""

    class BoundPanel(Panel.BoundPanel):
        template_name = "wagtail_segments/admin/merge_fields_panel.html"

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            context["fields"] = merge_fields()
            return context
