"""Filters of the contacts listing that cost the same at a thousand contacts and at a million.

Django's default filters build their choices from the data: ``SELECT DISTINCT country`` over
every contact, and every tag there is, on each page load. These take what the editor types
instead (any country code, any tag name) and offer as links only what needs no table scan:
"no country", and the first ``TAG_LINKS`` tags in use by name (a LIMIT over the tag name index,
probing the tagged-contact index).
"""

from __future__ import annotations

import re

from django.contrib import admin
from django.db.models import Exists, OuterRef, QuerySet
from django.utils.translation import gettext_lazy as _

from wagtail_segments.contacts.models import ContactTag, TaggedContact
from wagtail_segments.segments.rules.base import split_list

TAG_LINKS = 20
NO_COUNTRY = "-"
COUNTRY_CODE = re.compile(r"^[A-Za-z]{2}$")


class TextListFilter(admin.ListFilter):
    """A filter the editor types into, with a few links beside: one query string parameter,
    rendered as links and a small GET form that keeps the listing's other parameters."""

    parameter_name: str = ""
    template = "wagtail_segments/admin/text_list_filter.html"
    placeholder = ""

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        if self.parameter_name in params:
            value = params.pop(self.parameter_name)
            self.used_parameters[self.parameter_name] = value[-1] if isinstance(value, list) else value

    def value(self) -> str:
        return str(self.used_parameters.get(self.parameter_name) or "").strip()

    def has_output(self) -> bool:
        return True

    def expected_parameters(self) -> list[str]:
        return [self.parameter_name]

    def links(self) -> list[tuple[str, str]]:
        """(value, label) of the links offered besides "All"; none by default."""
        return []

    def choices(self, changelist):
        current = self.value()
        links = self.links()
        yield {
            "selected": not current,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": _("All"),
        }
        for value, label in links:
            yield {
                "selected": current.casefold() == value.casefold(),
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }
        yield {
            "form": True,
            "name": self.parameter_name,
            # The text input shows the value unless a link chose it.
            "value": "" if any(current == value for value, _label in links) else current,
            "placeholder": self.placeholder,
            "hidden": [(key, value) for key, value in sorted(changelist.params.items())
                       if key != self.parameter_name],
        }


class CountryFilter(TextListFilter):
    """Contacts in the countries typed (two-letter codes, comma-separated), or with none."""

    title = _("country")
    parameter_name = "country"
    placeholder = _("Codes, e.g. FR, DE")

    def links(self) -> list[tuple[str, str]]:
        return [(NO_COUNTRY, _("No country"))]

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if not value:
            return queryset
        if value == NO_COUNTRY:
            return queryset.filter(country="")
        codes = [code.upper() for code in split_list(value.replace(" ", ",")) if COUNTRY_CODE.match(code)]
        return queryset.filter(country__in=codes) if codes else queryset.none()


class TagFilter(TextListFilter):
    """Contacts with the tag typed (any tag, by name, ignoring case); the first tags in use
    by name as links."""

    title = _("tag")
    parameter_name = "tag"
    placeholder = _("Tag name")

    def links(self) -> list[tuple[str, str]]:
        in_use = Exists(TaggedContact.objects.filter(tag=OuterRef("pk")))
        names = ContactTag.objects.filter(in_use).order_by("name").values_list("name", flat=True)[:TAG_LINKS]
        return [(name, name) for name in names]

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if not value:
            return queryset
        tagged = TaggedContact.objects.filter(content_object=OuterRef("pk"), tag__name__iexact=value)
        return queryset.filter(Exists(tagged))
