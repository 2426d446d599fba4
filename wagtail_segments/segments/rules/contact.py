"""Rules over what is stored on the contact: fields, properties, company, dates, tags,
points, status and country."""

from __future__ import annotations

import datetime

from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _
from wagtail import blocks

from wagtail_segments.contacts.models import PropertyDefinition, TaggedContact
from wagtail_segments.contacts.properties import PropertyValueError, parse_boolean

from ..choosers import ContactTagsBlock, CountriesBlock, QueriedChoiceBlock
from .base import COUNTRY_CHANGED, LAST_SEEN_CHANGED, NOTHING, BrokenRule, Rule, RuleContext, register, split_list
from .operators import NUMBER_OPERATORS, TEXT_OPERATORS, Column, DateOperand, JsonKey, compare, definite

BUILTIN_TEXT_FIELDS = {
    "email": _("Email"),
    "first_name": _("First name"),
    "last_name": _("Last name"),
    "phone": _("Phone"),
    "country": _("Country"),
}
BUILTIN_DATE_FIELDS = {"first_seen": _("First seen"), "last_seen": _("Last seen")}
PROPERTY_PREFIX = "properties."


def property_choices(types: set[str]) -> list[tuple[str, str]]:
    """Declared properties by label, with their type, so an editor knows what to compare."""
    try:
        return [
            (f"{PROPERTY_PREFIX}{d.key}", f"{d.label} ({d.get_type_display()})")
            for d in PropertyDefinition.objects.filter(type__in=types)
        ]
    except Exception:  # no table yet (before migrate): offer the built-in fields only
        return []


def contact_field_choices() -> list[tuple[str, str]]:
    return [*BUILTIN_TEXT_FIELDS.items(), *property_choices({"text", "number", "boolean", "date"})]


def date_field_choices() -> list[tuple[str, str]]:
    return [*BUILTIN_DATE_FIELDS.items(), *property_choices({"date"})]


def declared_type(context: RuleContext, field: str) -> str:
    """The declared type of a property field; BrokenRule if it is no longer declared."""
    key = field.removeprefix(PROPERTY_PREFIX)
    kind = context.property_types().get(key)
    if kind is None:
        raise BrokenRule(_("The contact property “%(key)s” no longer exists.") % {"key": key})
    return kind


def field_comparison(operand, kind: str, operator: str, value) -> Q:
    if kind == "boolean" and operator in ("eq", "neq"):
        try:
            q = definite(operand.lookup("exact", parse_boolean(value)))
        except PropertyValueError:
            return NOTHING
        return ~q if operator == "neq" else q
    return compare(operand, operator, value, number=kind == "number")


@register
class ContactFieldRule(Rule):
    name = "contact_field"
    label = _("Contact field")
    icon = "user"
    depends_on = frozenset({"contact"})

    def child_blocks(self):
        return [
            ("field", QueriedChoiceBlock(choices=contact_field_choices, label=_("Field"))),
            ("operator", blocks.ChoiceBlock(choices=TEXT_OPERATORS, default="eq", label=_("Operator"))),
            ("value", blocks.CharBlock(required=False, label=_("Value"))),
        ]

    def compile(self, value, context):
        field = value.get("field") or ""
        if field.startswith(PROPERTY_PREFIX):
            kind = declared_type(context, field)
            operand = JsonKey("properties", field.removeprefix(PROPERTY_PREFIX))
            return field_comparison(operand, kind, value.get("operator"), value.get("value"))
        if field not in BUILTIN_TEXT_FIELDS:
            raise BrokenRule(_("Unknown contact field “%(field)s”.") % {"field": field})
        return compare(Column(field), value.get("operator"), value.get("value"))

    def dependencies(self, value):
        # The pass over new events updates a contact's country from its visits.
        return super().dependencies(value) | ({COUNTRY_CHANGED} if value.get("field") == "country" else set())

    def describe(self, value):
        return f"{value.get('field')} {value.get('operator')} {value.get('value') or ''}".strip()


COMPANY_FIELDS = {"name": _("Name"), "domain": _("Domain")}


@register
class CompanyFieldRule(Rule):
    name = "company_field"
    label = _("Company field")
    icon = "site"
    depends_on = frozenset({"contact"})

    def child_blocks(self):
        return [
            ("field", blocks.CharBlock(label=_("Field"), help_text=_("name, domain, or a key of the company's properties"))),
            ("operator", blocks.ChoiceBlock(choices=TEXT_OPERATORS, default="eq", label=_("Operator"))),
            ("value", blocks.CharBlock(required=False, label=_("Value"))),
        ]

    def compile(self, value, context):
        field = (value.get("field") or "").strip()
        if field in COMPANY_FIELDS:
            operand = Column(f"company__{field}", nullable=True)
        elif field and "__" not in field:
            operand = JsonKey("company__properties", field)
        else:
            raise BrokenRule(_("Unknown company field “%(field)s”.") % {"field": field})
        return compare(operand, value.get("operator"), value.get("value"))


DATE_OPERATORS = [
    ("before", _("is before")),
    ("after", _("is after")),
    ("on", _("is on")),
    ("between", _("is between (inclusive)")),
    ("days_ago", _("was exactly N days ago")),
    ("more_than_days_ago", _("is more than N days ago")),
    ("within_last_days", _("is within the last N days")),
    ("in_days", _("is exactly N days from now")),
    ("within_next_days", _("is within the next N days")),
    ("today", _("is today")),
    ("anniversary", _("has its anniversary today (birthday)")),
    ("age_is", _("is N years ago today (turns N today)")),
    ("age_at_least", _("is at least N years ago (age ≥ N)")),
    ("age_below", _("is less than N years ago (age < N)")),
    ("empty", _("is empty")),
    ("not_empty", _("is not empty")),
]


def years_before(day: datetime.date, years: int) -> datetime.date:
    """The same day ``years`` earlier; 29 February falls back to the 28th."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def is_last_of_february_in_common_year(day: datetime.date) -> bool:
    return day.month == 2 and day.day == 28 and (day + datetime.timedelta(days=1)).month == 3


@register
class DateRule(Rule):
    name = "date"
    label = _("Date")
    icon = "date"
    depends_on = frozenset({"contact", "time"})

    def child_blocks(self):
        return [
            ("field", QueriedChoiceBlock(choices=date_field_choices, label=_("Date"))),
            ("operator", blocks.ChoiceBlock(choices=DATE_OPERATORS, default="within_last_days", label=_("Operator"))),
            ("date", blocks.DateBlock(required=False, label=_("Date"))),
            ("end_date", blocks.DateBlock(required=False, label=_("End date"))),
            ("number", blocks.IntegerBlock(required=False, min_value=0, label=_("N (days or years)"))),
        ]

    def dependencies(self, value):
        # The pass over new events moves last seen (and first seen, for a new contact).
        seen = value.get("field") in ("first_seen", "last_seen")
        return super().dependencies(value) | ({LAST_SEEN_CHANGED} if seen else set())

    def operand(self, field: str, context: RuleContext) -> DateOperand:
        if field in BUILTIN_DATE_FIELDS:
            return DateOperand(context, column=field)
        if field.startswith(PROPERTY_PREFIX) and declared_type(context, field) == "date":
            return DateOperand(context, json_key=JsonKey("properties", field.removeprefix(PROPERTY_PREFIX)))
        raise BrokenRule(_("“%(field)s” is not a date field.") % {"field": field})

    def compile(self, value, context):
        operand = self.operand(value.get("field") or "", context)
        q = self.condition(operand, value, context)
        return definite(q) if operand.json_key is not None else q

    def condition(self, operand: DateOperand, value: dict, context: RuleContext) -> Q:
        operator = value.get("operator")
        today = context.today
        day = parse_day(value.get("date"))
        end = parse_day(value.get("end_date"))
        n = value.get("number")
        days = datetime.timedelta(days=n or 0)
        needs_date = {"before", "after", "on", "between"}
        needs_number = {"days_ago", "more_than_days_ago", "within_last_days", "in_days",
                        "within_next_days", "age_is", "age_at_least", "age_below"}
        if (operator in needs_date and day is None) or (operator == "between" and end is None):
            return NOTHING
        if operator in needs_number and n is None:
            return NOTHING
        if operator == "before":
            return operand.before(day)
        if operator == "after":
            return operand.on_or_after(day + datetime.timedelta(days=1))
        if operator == "on":
            return operand.on(day)
        if operator == "between":
            return operand.between(min(day, end), max(day, end))
        if operator == "days_ago":
            return operand.on(today - days)
        if operator == "more_than_days_ago":
            return operand.before(today - days)
        if operator == "within_last_days":
            return operand.between(today - days, today)
        if operator == "in_days":
            return operand.on(today + days)
        if operator == "within_next_days":
            return operand.between(today, today + days)
        if operator == "today":
            return operand.on(today)
        if operator == "anniversary":
            q = operand.month_day(today.month, today.day)
            if is_last_of_february_in_common_year(today):
                q |= operand.month_day(2, 29)
            return q
        if operator == "age_is":
            q = operand.on(years_before(today, n))
            if is_last_of_february_in_common_year(today):
                leap_birthday = today.replace(year=today.year - n) + datetime.timedelta(days=1)
                if leap_birthday.month == 2:
                    q |= operand.on(leap_birthday)
            return q
        if operator == "age_at_least":
            return operand.before(years_before(today, n) + datetime.timedelta(days=1))
        if operator == "age_below":
            return operand.on_or_after(years_before(today, n) + datetime.timedelta(days=1))
        if operator == "empty":
            return self.empty(operand)
        if operator == "not_empty":
            return ~self.empty(operand)
        raise BrokenRule(_("Unknown date operator “%(op)s”.") % {"op": operator})

    def empty(self, operand: DateOperand) -> Q:
        if operand.column:
            return Q(**{f"{operand.column}__isnull": True})
        return operand.json_key.empty()


def parse_day(value) -> datetime.date | None:
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


TAG_OPERATORS = [("any", _("has any of")), ("all", _("has all of")), ("none", _("has none of"))]


@register
class TagsRule(Rule):
    name = "tags"
    label = _("Tags")
    icon = "tag"
    depends_on = frozenset({"tags"})

    def child_blocks(self):
        return [
            ("operator", blocks.ChoiceBlock(choices=TAG_OPERATORS, default="any", label=_("Operator"))),
            ("tags", ContactTagsBlock(label=_("Tags"))),
        ]

    def compile(self, value, context):
        # Wagtail's tag widget quotes names with spaces ("big customer").
        names = [name.strip('"').strip() for name in split_list(value.get("tags"))]
        names = [name for name in names if name]
        if not names:
            return NOTHING

        narrowed = context.ids is not None or context.id_range is not None

        def has(name_q: Q) -> Q:
            if narrowed:
                # Only the tags of the contacts being evaluated: PostgreSQL answers a
                # correlated EXISTS here by hashing every contact with the tag.
                tagged = context.narrow(TaggedContact.objects.filter(name_q), "content_object_id")
                return Q(pk__in=tagged.values("content_object_id"))
            return Q(Exists(TaggedContact.objects.filter(name_q, content_object_id=OuterRef("pk"))))

        def named(name: str) -> Q:
            return Q(tag__name__iexact=name)

        operator = value.get("operator")
        if operator == "all":
            q = Q()
            for name in names:
                q &= has(named(name))
            return q
        any_q = Q()
        for name in names:
            any_q |= named(name)
        q = has(any_q)
        return ~q if operator == "none" else q


@register
class PointsRule(Rule):
    name = "points"
    label = _("Points")
    icon = "pick"
    depends_on = frozenset({"contact"})

    def child_blocks(self):
        return [
            ("operator", blocks.ChoiceBlock(choices=NUMBER_OPERATORS, default="gte", label=_("Operator"))),
            ("points", blocks.IntegerBlock(label=_("Points"))),
        ]

    def compile(self, value, context):
        return compare(Column("points"), value.get("operator"), value.get("points"), number=True)


STATUSES = [
    ("identified", _("is identified (has an email)")),
    ("user", _("is linked to a user account")),
    ("do_not_email", _("does not want email")),
    ("do_not_sms", _("does not want SMS")),
]


@register
class StatusRule(Rule):
    name = "status"
    label = _("Contact status")
    icon = "user"
    depends_on = frozenset({"contact"})

    def child_blocks(self):
        return [("status", blocks.ChoiceBlock(choices=STATUSES, default="identified", label=_("Status")))]

    def compile(self, value, context):
        status = value.get("status")
        if status == "identified":
            return Q(email_key__isnull=False)
        if status == "user":
            return Q(user__isnull=False)
        if status in ("do_not_email", "do_not_sms"):
            return Q(**{status: True})
        raise BrokenRule(_("Unknown status “%(status)s”.") % {"status": status})


@register
class CountryRule(Rule):
    name = "country"
    label = _("Country")
    icon = "globe"
    depends_on = frozenset({"contact"})

    def child_blocks(self):
        return [
            ("countries", CountriesBlock(
                label=_("Countries"), help_text=_("Choose one or more: hold Ctrl (⌘ on a Mac) to choose several."))),
        ]

    def dependencies(self, value):
        return super().dependencies(value) | {COUNTRY_CHANGED}

    def compile(self, value, context):
        codes = [code.upper() for code in split_list(value.get("countries")) if len(code) == 2]
        return Q(country__in=codes) if codes else NOTHING
