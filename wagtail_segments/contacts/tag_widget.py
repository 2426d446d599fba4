"""Contact tags edited with Wagtail's own tag widget (tag-it, completing what is typed),
pointed at the contacts' tag model so that it completes from contact tags, not from
Wagtail's shared tag table (``/admin/tag-autocomplete/wagtail_segments/contacttag/``).

tag-it hides the labelled input and types into one of its own that has no label (axe:
critical); ``tag_widget.js`` labels it with the field's label and help.
"""

from __future__ import annotations

import json

from wagtail.admin.widgets import AdminTagWidget


class ContactTagWidget(AdminTagWidget):
    """Wagtail's tag widget over contact tags; ``limit`` tags at most (one for "the tag")."""

    def __init__(self, *args, limit: int | None = None, **kwargs):
        from wagtail_segments.contacts.models import ContactTag

        kwargs.setdefault("tag_model", ContactTag)
        self.limit = limit
        super().__init__(*args, **kwargs)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        if self.limit:
            widget_attrs = context["widget"]["attrs"]
            options = json.loads(widget_attrs["data-w-tag-options-value"])
            widget_attrs["data-w-tag-options-value"] = json.dumps({**options, "tagLimit": self.limit})
        return context

    class Media:
        js = ["wagtail_segments/admin/tag_widget.js"]
