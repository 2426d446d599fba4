"""Form fields for contact tags edited with ``ContactTagWidget`` (Wagtail's tag widget)."""

from __future__ import annotations

from django import forms
from taggit.utils import parse_tags

from wagtail_segments.contacts.tag_widget import ContactTagWidget


class TagNamesField(forms.CharField):
    """Tags as the tag widget posts them (comma-separated, a name with spaces in quotes),
    cleaned to a list of names."""

    widget = ContactTagWidget

    def prepare_value(self, value):
        if isinstance(value, (list, tuple)):
            return ", ".join(f'"{name}"' if ("," in name or " " in name) else name for name in map(str, value))
        return value

    def clean(self, value):
        return parse_tags(super().clean(value) or "")


class OneTagField(forms.CharField):
    """One tag, typed or picked with the tag widget (limited to one), cleaned to its name:
    the widget quotes a name with spaces, which is one tag here, not two."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", ContactTagWidget(limit=1))
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        text = super().to_python(value).strip()
        if len(text) > 1 and text[0] == text[-1] == '"':
            text = text[1:-1].strip()
        return text
