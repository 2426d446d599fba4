"""Rules over what contacts did: page views, form submissions, and where their visits came from."""

from __future__ import annotations

import datetime
import re

import swapper
from django.db.models import Count, Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _
from wagtail import blocks

from wagtail_segments.contacts.models import Event, EventKind

from ..choosers import FormFieldChoiceBlock, form_page_models
from .base import EVERYONE, NOTHING, BrokenRule, Rule, RuleContext, register, split_list
from .contact import parse_day
from .operators import TEXT_OPERATORS, Column, JsonKey, compare

WINDOWS = [
    ("ever", _("ever")),
    ("last_days", _("in the last N days")),
    ("between", _("between two dates")),
]
COUNT_OPERATORS = [("at_least", _("at least")), ("at_most", _("at most"))]


def window_blocks():
    return [
        ("window", blocks.ChoiceBlock(choices=WINDOWS, default="last_days", label=_("When"))),
        ("days", blocks.IntegerBlock(required=False, min_value=1, default=30, label=_("N days"))),
        ("start", blocks.DateBlock(required=False, label=_("From"))),
        ("end", blocks.DateBlock(required=False, label=_("To"))),
    ]


def window_filter(value: dict, context: RuleContext) -> Q:
    """The time window of a behaviour rule, as a filter on events."""
    window = value.get("window") or "ever"
    if window == "last_days":
        days = value.get("days") or 0
        return Q(time__gte=context.now - datetime.timedelta(days=days)) if days else Q()
    if window == "between":
        start, end = parse_day(value.get("start")), parse_day(value.get("end"))
        q = Q()
        if start:
            q &= Q(time__gte=context.day_start(start))
        if end:
            q &= Q(time__lt=context.day_start(end + datetime.timedelta(days=1)))
        return q
    return Q()


def count_condition(events, value: dict, context: RuleContext) -> Q:
    """Contacts with at least / at most N of ``events``. One grouped subquery, evaluated once
    for the whole batch, not per contact."""
    operator = value.get("count_operator") or "at_least"
    count = value.get("count")
    count = 1 if count is None else count
    if operator == "at_least":
        if count <= 0:
            return EVERYONE
        if count == 1:
            return Q(Exists(events.filter(contact_id=OuterRef("pk"))))
        threshold, negate = count, False
    else:
        if count < 0:
            return NOTHING
        threshold, negate = count + 1, True
    events = context.narrow(events)
    if threshold == 1:
        q = Q(pk__in=events.values("contact_id"))
    else:
        grouped = (
            events.order_by().values("contact_id").annotate(n=Count("*"))
            .filter(n__gte=threshold).values("contact_id")
        )
        q = Q(pk__in=grouped)
    return ~q if negate else q


def count_blocks(default: int = 1):
    return [
        ("count_operator", blocks.ChoiceBlock(choices=COUNT_OPERATORS, default="at_least", label=_("How often"))),
        ("count", blocks.IntegerBlock(min_value=0, default=default, label=_("times"))),
    ]


def page_path(page_id, context: RuleContext) -> str:
    """The tree path of a page, or BrokenRule if it was deleted."""
    Page = swapper.load_model("wagtailcore", "Page")
    cache = context.cache.setdefault("page_paths", {})
    if page_id not in cache:
        cache[page_id] = Page.objects.filter(pk=page_id).values_list("path", flat=True).first()
    if cache[page_id] is None:
        raise BrokenRule(_("The page with id %(id)s no longer exists.") % {"id": page_id})
    return cache[page_id]


def glob_to_regex(pattern: str) -> str:
    """``/products/*`` → a regular expression over paths; only ``*`` is special."""
    return "^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$"


TARGETS = [
    ("page", _("a page")),
    ("section", _("any page in a section")),
    ("path", _("a path pattern (* matches anything)")),
    ("any", _("any page")),
]


@register
class PageViewsRule(Rule):
    name = "page_views"
    label = _("Page views")
    icon = "doc-full"
    depends_on = frozenset({f"events:{EventKind.PAGE_VIEW}", "time"})

    def child_blocks(self):
        return [
            ("target", blocks.ChoiceBlock(choices=TARGETS, default="page", label=_("Visited"))),
            ("page", blocks.PageChooserBlock(required=False, label=_("Page or section"))),
            ("path", blocks.CharBlock(required=False, label=_("Path pattern"))),
            *count_blocks(),
            *window_blocks(),
        ]

    def target_filter(self, value: dict, context: RuleContext) -> Q:
        target = value.get("target") or "page"
        if target in ("page", "section"):
            page_id = value.get("page")
            if not page_id:
                raise BrokenRule(_("No page chosen."))
            path = page_path(page_id, context)
            if target == "page":
                return Q(page_id=page_id)
            # Literal ids: planners misjudge "path LIKE 'prefix%'" as one page and scan the
            # whole window of events for it (measured in docs/scaling.md).
            sections = context.cache.setdefault("section_pages", {})
            if path not in sections:
                Page = swapper.load_model("wagtailcore", "Page")
                sections[path] = list(Page.objects.filter(path__startswith=path).order_by("pk").values_list("pk", flat=True))
            return Q(page_id__in=sections[path])
        if target == "path":
            pattern = (value.get("path") or "").strip()
            if not pattern:
                raise BrokenRule(_("No path pattern given."))
            if "*" not in pattern:
                return Q(path=pattern)
            if pattern.endswith("*") and pattern.count("*") == 1:
                return Q(path__startswith=pattern[:-1])
            return Q(path__regex=glob_to_regex(pattern))
        return Q()

    def matching_events(self, value: dict, context: RuleContext) -> Q:
        return Q(self.target_filter(value, context), window_filter(value, context), kind=EventKind.PAGE_VIEW)

    def compile(self, value, context):
        return count_condition(Event.objects.filter(self.matching_events(value, context)), value, context)

    def moved_by(self, value, context):
        return self.matching_events(value, context)


ANSWER_OPERATORS = TEXT_OPERATORS


@register
class FormSubmittedRule(Rule):
    name = "form_submitted"
    label = _("Form submitted")
    icon = "form"
    depends_on = frozenset({f"events:{EventKind.FORM_SUBMISSION}", "time"})

    def child_blocks(self):
        return [
            ("page", blocks.PageChooserBlock(page_type=form_page_models() or None, label=_("Form page"))),
            ("answer_field", FormFieldChoiceBlock(required=False, label=_("Answer field (optional)"),
                                                  help_text=_("A field of the form chosen above"))),
            ("answer_operator", blocks.ChoiceBlock(choices=ANSWER_OPERATORS, default="eq", label=_("Answer"))),
            ("answer_value", blocks.CharBlock(required=False, label=_("Value"))),
            *count_blocks(),
            *window_blocks(),
        ]

    def submissions(self, value: dict, context: RuleContext) -> Q:
        page_id = value.get("page")
        if not page_id:
            raise BrokenRule(_("No form page chosen."))
        page_path(page_id, context)
        return Q(window_filter(value, context), kind=EventKind.FORM_SUBMISSION, page_id=page_id)

    def moved_by(self, value, context):
        return self.submissions(value, context)

    def compile(self, value, context):
        page_id = value.get("page")
        events = Event.objects.filter(self.submissions(value, context))
        field = (value.get("answer_field") or "").strip()
        if field:
            if field not in form_field_names(page_id, context):
                raise BrokenRule(_("The form no longer has a field “%(field)s”.") % {"field": field})
            events = events.filter(
                compare(JsonKey("data", "answers", field), value.get("answer_operator"), value.get("answer_value"))
            )
        return count_condition(events, value, context)


def form_field_names(page_id: int, context: RuleContext) -> set[str]:
    cache = context.cache.setdefault("form_fields", {})
    if page_id not in cache:
        Page = swapper.load_model("wagtailcore", "Page")
        page = Page.objects.filter(pk=page_id).first()
        page = page.specific if page else None
        if page is None or not hasattr(page, "get_form_fields"):
            cache[page_id] = set()
        else:
            cache[page_id] = {field.clean_name for field in page.get_form_fields()}
    return cache[page_id]


def needs_a_value(operator: str | None, value) -> bool:
    """Whether a text comparison can only hold for a non-empty column ("equals newsletter"
    can; "is empty", "does not equal" and order comparisons can match an empty one)."""
    if operator == "in":
        items = split_list(value)
        return bool(items) and all(items)
    if operator in ("eq", "contains", "startswith", "endswith"):
        return bool(str(value if value is not None else ""))
    return False


SOURCES = [
    ("utm_source", _("UTM source")),
    ("utm_medium", _("UTM medium")),
    ("utm_campaign", _("UTM campaign")),
    ("referrer", _("Referrer")),
    ("device", _("Device class (desktop, mobile, tablet)")),
]


@register
class TrafficRule(Rule):
    name = "traffic"
    label = _("Visit source or device")
    icon = "link-external"
    depends_on = frozenset({f"events:{EventKind.PAGE_VIEW}", "time"})

    def child_blocks(self):
        return [
            ("field", blocks.ChoiceBlock(choices=SOURCES, default="utm_source", label=_("Of a page view"))),
            ("operator", blocks.ChoiceBlock(choices=TEXT_OPERATORS, default="eq", label=_("Operator"))),
            ("value", blocks.CharBlock(required=False, label=_("Value"))),
            *window_blocks(),
        ]

    def compile(self, value, context):
        field = value.get("field")
        if field not in dict(SOURCES):
            raise BrokenRule(_("Unknown visit field “%(field)s”.") % {"field": field})
        condition = compare(Column(field), value.get("operator"), value.get("value"))
        if needs_a_value(value.get("operator"), value.get("value")):
            # Said outright so that the database may use wsg_event_campaign, which holds only
            # page views with UTM values (docs/scaling.md).
            condition &= ~Q(**{field: ""})
        events = Event.objects.filter(condition, window_filter(value, context), kind=EventKind.PAGE_VIEW)
        return Q(Exists(events.filter(contact_id=OuterRef("pk"))))
