"""Comparisons shared by the rule types, over a model column or a key of a JSON column.

Text comparisons ignore case. Numbers in JSON compare as numbers and ISO dates as dates on
SQLite and PostgreSQL alike, because typed properties are stored typed (contacts/properties.py).
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import BooleanField, Case, F, FloatField, Q, Value, When
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Cast, Substr
from django.db.models.lookups import Exact, GreaterThan, GreaterThanOrEqual, LessThan, LessThanOrEqual, Regex
from django.utils.translation import gettext_lazy as _

from .base import split_list

TEXT_OPERATORS = [
    ("eq", _("equals")),
    ("neq", _("does not equal")),
    ("contains", _("contains")),
    ("startswith", _("starts with")),
    ("endswith", _("ends with")),
    ("in", _("is one of (comma-separated)")),
    ("empty", _("is empty")),
    ("not_empty", _("is not empty")),
    ("gt", _("is greater than")),
    ("gte", _("is at least")),
    ("lt", _("is less than")),
    ("lte", _("is at most")),
]
NUMBER_OPERATORS = [
    ("eq", _("equals")), ("neq", _("does not equal")), ("gt", _("is greater than")),
    ("gte", _("is at least")), ("lt", _("is less than")), ("lte", _("is at most")),
]
NUMBER_PATTERN = r"^\s*-?[0-9]+(\.[0-9]+)?\s*$"


def as_number(value: Any) -> float | int | None:
    try:
        number = float(str(value).strip().replace(",", "."))
    except (TypeError, ValueError):
        return None
    return int(number) if number.is_integer() else number


def definite(q: Q) -> Q:
    """``q`` as a condition that is never SQL NULL: a missing JSON key or a NULL column makes
    a comparison NULL, and NOT NULL is still NULL, so negating it would drop those contacts.
    Wrapped this way, ``~rule`` is exactly the contacts ``rule`` does not match."""
    return Q(Case(When(q, then=Value(True)), default=Value(False), output_field=BooleanField()))


class Column:
    """A plain column (or a path through a relation) of the contact, e.g. ``company__name``."""

    def __init__(self, path: str, nullable: bool = False):
        self.path = path
        self.nullable = nullable

    def lookup(self, name: str, value: Any) -> Q:
        return Q(**{f"{self.path}__{name}": value})

    def empty(self) -> Q:
        q = Q(**{self.path: ""})
        return q | Q(**{f"{self.path}__isnull": True}) if self.nullable else q

    def text(self):
        return F(self.path)


class JsonKey:
    """One key of a JSON column: ``JsonKey("properties", "plan")``; nested keys are a tuple."""

    nullable = True

    def __init__(self, column: str, *keys: str):
        self.column = column
        self.keys = keys

    def _transform(self, text: bool = False):
        expression = self.column
        for key in self.keys[:-1]:
            expression = KeyTransform(key, expression)
        transform = KeyTextTransform if text else KeyTransform
        return transform(self.keys[-1], expression)

    def lookup(self, name: str, value: Any) -> Q:
        transform = self._transform()
        return Q(transform.get_lookup(name)(transform, value))

    def empty(self) -> Q:
        return definite(self.lookup("isnull", True) | self.lookup("exact", None) | Q(Exact(self.text(), "")))

    def text(self):
        return self._transform(text=True)


def numeric(operand) -> Case:
    """The operand's text read as a number where it looks like one, else NULL (no cast errors)."""
    text = operand.text()
    return Case(When(Regex(text, NUMBER_PATTERN), then=Cast(text, FloatField())), default=Value(None))


ORDER_CLASSES = {"gt": GreaterThan, "gte": GreaterThanOrEqual, "lt": LessThan, "lte": LessThanOrEqual}


def compare(operand, operator: str, value: Any, *, number: bool = False) -> Q:
    """``operand <operator> value``, never NULL (see ``definite``). "does not equal" is true
    where the value is missing. With ``number`` the operand holds numbers (a numeric column,
    a JSON number); otherwise it holds text, and an order comparison with a number reads the
    text as a number where it looks like one (form answers are text)."""
    if operator in ("neq", "not_empty"):
        return ~compare(operand, "eq" if operator == "neq" else "empty", value, number=number)
    q = _compare(operand, operator, value, number=number)
    return definite(q) if operand.nullable else q


def _compare(operand, operator: str, value: Any, *, number: bool = False) -> Q:
    if operator == "empty":
        return operand.empty()
    if operator == "in":
        q = Q(pk__in=[])
        for item in split_list(value):
            q |= operand.lookup("iexact", item)
        return q
    if number:
        amount = as_number(value)
        if amount is None:
            return Q(pk__in=[])
        if isinstance(operand, JsonKey):
            # JSON numbers are compared through their text, read as a number.
            lookup = Exact if operator == "eq" else ORDER_CLASSES[operator]
            return Q(lookup(numeric(operand), amount))
        return operand.lookup("exact" if operator == "eq" else operator, amount)
    if operator in ORDER_CLASSES:
        amount = as_number(value)
        if amount is not None:
            return Q(ORDER_CLASSES[operator](numeric(operand), amount))
        return Q(ORDER_CLASSES[operator](operand.text(), str(value)))
    text = str(value if value is not None else "")
    if operator == "eq":
        return operand.lookup("iexact", text)
    if operator in ("contains", "startswith", "endswith"):
        return operand.lookup(f"i{operator}", text)
    raise ValueError(f"Unknown operator {operator!r}")


class DateOperand:
    """Date comparisons over a datetime column (in the site's time zone) or an ISO date string
    in JSON. Both offer the same five primitives the date rule is built from. Over JSON a
    missing date makes them NULL; the date rule wraps its result with ``definite``."""

    def __init__(self, context, column: str | None = None, json_key: JsonKey | None = None):
        self.context = context
        self.column = column
        self.json_key = json_key

    def _text(self):
        return self.json_key.text()

    def before(self, day: datetime.date) -> Q:
        if self.column:
            return Q(**{f"{self.column}__lt": self.context.day_start(day)})
        return Q(LessThan(self._text(), day.isoformat()))

    def on_or_after(self, day: datetime.date) -> Q:
        if self.column:
            return Q(**{f"{self.column}__gte": self.context.day_start(day)})
        return Q(GreaterThanOrEqual(self._text(), day.isoformat()))

    def between(self, first: datetime.date, last: datetime.date) -> Q:
        return self.on_or_after(first) & self.before(last + datetime.timedelta(days=1))

    def on(self, day: datetime.date) -> Q:
        if self.column:
            return self.between(day, day)
        return Q(Exact(Substr(self._text(), 1, 10), day.isoformat()))

    def month_day(self, month: int, day: int) -> Q:
        if self.column:
            return Q(**{f"{self.column}__month": month, f"{self.column}__day": day})
        return Q(Exact(Substr(self._text(), 6, 5), f"{month:02d}-{day:02d}"))
