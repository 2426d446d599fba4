"""Filters of the contacts listing that cost the same at a thousand contacts and at a million.

Django's default filters build their choices from the data: ``SELECT DISTINCT country`` over
every contact, and every tag there is, on each page load. These offer what needs no table
scan: every country by name (a fixed list, contacts.countries), "no country", any tag typed,
and the first ``TAG_LINKS`` tags in use by name as links (a LIMIT over the tag name index,
probing the tagged-contact index).
"""

from __future__ import annotations

import datetime
import re

from django.contrib import admin
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from wagtail_segments.contacts.countries import country_choices
from wagtail_segments.contacts.models import ContactTag, TaggedContact
from wagtail_segments.segments.rules.base import split_list

TAG_LINKS = 20
NO_COUNTRY = "-"
COUNTRY_CODE = re.compile(r"^[A-Za-z]{2}$")


class ParameterFilter(admin.ListFilter):
    """A filter on query string parameters of its own (``expected_parameters``, by default
    ``parameter_name``), always shown, drawn by ``list_filter.html`` as links and, for a filter
    the editor types into, a small GET form (``typed_choice``)."""

    parameter_name: str = ""
    template = "wagtail_segments/admin/list_filter.html"

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        for name in self.expected_parameters():
            if name in params:
                value = params.pop(name)
                self.used_parameters[name] = value[-1] if isinstance(value, list) else value

    def expected_parameters(self) -> list[str]:
        return [self.parameter_name]

    def has_output(self) -> bool:
        return True

    def typed_choice(self, changelist, inputs: list[dict], input_type: str = "text", labels_hidden: bool = False) -> dict:
        """The form: ``inputs`` (name, label, value, placeholder), and the listing's other
        parameters as hidden inputs so that filtering here keeps them."""
        return {
            "form": True, "inputs": inputs, "input_type": input_type, "labels_hidden": labels_hidden,
            "hidden": [(key, value) for key, value in sorted(changelist.params.items())
                       if key not in self.expected_parameters()],
        }


class TextListFilter(ParameterFilter):
    """A filter the editor types into, with a few links beside: one query string parameter."""

    placeholder = ""

    def value(self) -> str:
        return str(self.used_parameters.get(self.parameter_name) or "").strip()

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
        yield self.typed_choice(changelist, [{
            "name": self.parameter_name, "label": capfirst(self.title), "placeholder": self.placeholder,
            # The text input shows the value unless a link chose it.
            "value": "" if any(current == value for value, _label in links) else current,
        }], labels_hidden=True)


class CountryFilter(TextListFilter):
    """Contacts in the country chosen by name, or with none. The parameter is the code, and
    a link or bookmark may list several ("FR,DE")."""

    title = _("country")
    parameter_name = "country"

    def links(self) -> list[tuple[str, str]]:
        return [(NO_COUNTRY, _("No country"))]

    def choices(self, changelist):
        for choice in super().choices(changelist):
            if choice.get("form"):
                current = choice["inputs"][0]["value"].upper()
                options = [("", _("Any country")), *country_choices()]
                if current and current not in dict(options):
                    options.append((current, current))  # several codes, or one no country has
                choice["inputs"][0].update(value=current, options=options)
            yield choice

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


class IdentityFilter(ParameterFilter):
    """Identified contacts (an email or a user) by default, anonymous ones, or everyone:
    anonymous visitors outnumber known contacts by far and are rarely what an editor wants."""

    title = _("identity")
    parameter_name = "identity"
    IDENTIFIED, ANONYMOUS, EVERYONE = "identified", "anonymous", "all"

    def value(self) -> str:
        value = self.used_parameters.get(self.parameter_name)
        return value if value in (self.ANONYMOUS, self.EVERYONE) else self.IDENTIFIED

    def choices(self, changelist):
        for value, label in ((self.IDENTIFIED, _("Identified")), (self.ANONYMOUS, _("Anonymous")),
                             (self.EVERYONE, _("Everyone"))):
            yield {
                "selected": self.value() == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        anonymous = Q(email_key__isnull=True, user__isnull=True)
        if self.value() == self.ANONYMOUS:
            return queryset.filter(anonymous)
        if self.value() == self.IDENTIFIED:
            return queryset.exclude(anonymous)
        return queryset


class RangeListFilter(ParameterFilter):
    """A filter with a lower and an upper bound typed by the editor (either may be empty, both
    are included): ``<parameter>_from`` and ``<parameter>_to`` on the model field ``lookup``."""

    input_type = "text"
    lookup = ""

    def expected_parameters(self) -> list[str]:
        return [f"{self.parameter_name}_from", f"{self.parameter_name}_to"]

    def bound(self, which: str):
        """The typed bound, parsed (None when empty or unreadable)."""
        text = str(self.used_parameters.get(f"{self.parameter_name}_{which}") or "").strip()
        return self.parse(text) if text else None

    def parse(self, text: str):
        raise NotImplementedError

    def choices(self, changelist):
        yield {
            "selected": not any(self.used_parameters.values()),
            "query_string": changelist.get_query_string(remove=self.expected_parameters()),
            "display": _("All"),
        }
        title = str(self.title).capitalize()
        yield self.typed_choice(changelist, [
            {"name": f"{self.parameter_name}_from", "label": _("%(title)s from") % {"title": title},
             "value": self.used_parameters.get(f"{self.parameter_name}_from", "")},
            {"name": f"{self.parameter_name}_to", "label": _("%(title)s to") % {"title": title},
             "value": self.used_parameters.get(f"{self.parameter_name}_to", "")},
        ], input_type=self.input_type)

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        low, high = self.bound("from"), self.bound("to")
        if low is not None:
            queryset = queryset.filter(**{f"{self.lookup}__gte": low})
        if high is not None:
            queryset = queryset.filter(**{f"{self.lookup}__lte": high})
        return queryset


class LastSeenFilter(RangeListFilter):
    """Contacts last seen between two days, both included (the last seen index serves it)."""

    title = _("last seen")
    parameter_name = "last_seen"
    lookup = "last_seen__date"
    input_type = "date"

    def parse(self, text: str):
        try:
            return datetime.date.fromisoformat(text)
        except ValueError:
            return None


class PointsFilter(RangeListFilter):
    """Contacts with at least and at most so many points."""

    title = _("points")
    parameter_name = "points"
    lookup = "points"
    input_type = "number"

    def parse(self, text: str):
        try:
            return int(text)
        except ValueError:
            return None


class SegmentFilter(admin.SimpleListFilter):
    """Members of a segment. Its choices are the segments (a few hundred rows at most), never
    a scan of the contacts; a member is a membership row not excluded by hand."""

    title = _("segment")
    parameter_name = "segment"

    def lookups(self, request, model_admin):
        from wagtail_segments.segments.models import Segment

        return [(str(pk), name) for pk, name in Segment.objects.order_by("name").values_list("pk", "name")]

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        from wagtail_segments.segments.models import Membership

        if not self.value() or not str(self.value()).isdigit():
            return queryset
        member = Membership.objects.filter(segment_id=int(self.value()), contact=OuterRef("pk"), excluded=False)
        return queryset.filter(Exists(member))
