"""Typed contact properties: values arrive as strings (forms, CSV) and are stored typed.

Declared properties (``PropertyDefinition``) are normalised so that rules compare numbers as
numbers and dates as ISO dates on every database; undeclared keys keep the value as given.
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from .models import PropertyDefinition

TRUE_WORDS = {"1", "true", "yes", "y", "on", "t"}
FALSE_WORDS = {"0", "false", "no", "n", "off", "f", ""}
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%m/%d/%Y")
# Digits before the point a number property keeps (less 1): a 64-bit integer's 19.
MAX_DIGITS = 18


class PropertyValueError(ValueError):
    """A value that cannot be read as its property's declared type."""


def parse_number(value: Any) -> int | float:
    if isinstance(value, bool):
        raise PropertyValueError(_("“%(value)s” is not a number.") % {"value": value})
    if isinstance(value, (int, float)):
        return value
    text = str(value).strip().replace(" ", "").replace("_", "") if value is not None else ""
    if "," in text and "." in text:
        text = text.replace(",", "")  # 1,234.5
    elif re.fullmatch(r"-?\d{1,3}(,\d{3})+", text):
        text = text.replace(",", "")  # 1,000
    else:
        text = text.replace(",", ".")  # 3,5
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise PropertyValueError(_("“%(value)s” is not a number.") % {"value": value}) from None
    if not number.is_finite():
        raise PropertyValueError(_("“%(value)s” is not a number.") % {"value": value})
    if number.adjusted() > MAX_DIGITS:
        # Beyond what JSON columns compare alike; and int() of "1e9999999" runs for minutes.
        raise PropertyValueError(_("“%(value)s” is too large a number.") % {"value": value})
    return int(number) if number == number.to_integral_value() else float(number)


def parse_date_value(value: Any) -> str:
    """An ISO date string (YYYY-MM-DD): sorts and compares the same in SQLite and PostgreSQL."""
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    text = str(value or "").strip()
    parsed = None
    try:
        parsed = parse_date(text)
        if parsed is None:
            moment = parse_datetime(text)
            parsed = moment.date() if moment else None
    except ValueError:
        parsed = None
    if parsed is None:
        for fmt in DATE_FORMATS[1:]:
            try:
                parsed = datetime.datetime.strptime(text, fmt).date()
                break
            except ValueError:
                continue
    if parsed is None:
        raise PropertyValueError(_("“%(value)s” is not a date.") % {"value": value})
    return parsed.isoformat()


def parse_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value if value is not None else "").strip().casefold()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise PropertyValueError(_("“%(value)s” is not yes or no.") % {"value": value})


PARSERS = {
    PropertyDefinition.Type.NUMBER: parse_number,
    PropertyDefinition.Type.DATE: parse_date_value,
    PropertyDefinition.Type.BOOLEAN: parse_boolean,
}


def property_types() -> dict[str, str]:
    """Declared property keys and their types."""
    return dict(PropertyDefinition.objects.values_list("key", "type"))


def normalise_property(key: str, value: Any, types: dict[str, str] | None = None) -> Any:
    """The value to store for ``key``; raises PropertyValueError for a value of the wrong type.

    An empty value is stored as None for typed properties, so "is empty" rules see it.
    """
    types = property_types() if types is None else types
    kind = types.get(key)
    if kind is None or kind == PropertyDefinition.Type.TEXT:
        if isinstance(value, (list, tuple)):
            return ", ".join(str(v) for v in value)
        return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return PARSERS[kind](value)
