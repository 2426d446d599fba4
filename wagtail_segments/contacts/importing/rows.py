"""One CSV record as the contact it describes: checked values, or the problems that skip it.

Values are checked here, before anything is written, so that a bad row is reported with its
line and the others are imported: an email that is not valid, text longer than its column, a
country that is not two letters, points that are not a whole number, a property value not of
its declared type (``contacts.properties``).
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from wagtail_segments.contacts.models import Company, Contact, ContactTag, normalise_email
from wagtail_segments.contacts.properties import PropertyValueError, normalise_property, parse_number

from .columns import PROPERTY_PREFIX, TEXT_FIELDS, Column

# A leading apostrophe that exports add against formula injection; an import takes it off.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TAG_SEPARATORS = re.compile(r"[,;|]")
COUNTRY = re.compile(r"^[A-Za-z]{2}$")
INT_RANGE = (-2_147_483_648, 2_147_483_647)


class Row:
    """The values of one row, ready to write: contact fields, company name, properties, tags."""

    __slots__ = ("line", "email", "key", "fields", "company", "properties", "tags")

    def __init__(self, line: int):
        self.line = line
        self.email = ""
        self.key = ""  # the normalised email, by which contacts are matched
        self.fields: dict[str, Any] = {}
        self.company = ""
        self.properties: dict[str, Any] = {}
        self.tags: list[str] = []

    def absorb(self, later: Row) -> None:
        """A later row with the same email: its non-blank values win, tags add up."""
        self.email = later.email
        self.fields.update(later.fields)
        self.company = later.company or self.company
        self.properties.update(later.properties)
        have = {tag.casefold() for tag in self.tags}
        self.tags.extend(tag for tag in later.tags if tag.casefold() not in have)


def unguarded(value: str) -> str:
    """``value`` without the apostrophe an export put before a formula-like start."""
    if len(value) > 1 and value[0] == "'" and value[1] in FORMULA_STARTS:
        return value[1:]
    return value


def _max_length(name: str) -> int:
    return Contact._meta.get_field(name).max_length


def _is_email(value: str) -> bool:
    """An address Django accepts that also fits the contact's email column."""
    try:
        validate_email(value)
    except ValidationError:
        return False
    return len(value) <= _max_length("email")


def parse_row(line: int, cells: list[str], columns: list[Column], types: dict[str, str]) -> tuple[Row, list[str]]:
    """The row's values and its problems (the row is skipped when there are any).
    ``types``: the declared property types by key."""
    row = Row(line)
    problems: list[str] = []
    email_given = False
    for column in columns:
        raw = cells[column.index] if column.index < len(cells) else ""
        value = unguarded(raw.strip())
        if not value:
            continue
        target = column.target
        label = column.header
        if target == "email":
            email_given = True
            if _is_email(value):
                row.email, row.key = value, normalise_email(value)
            else:
                problems.append(_("“%(value)s” is not a valid email address.") % {"value": value})
        elif target in TEXT_FIELDS:
            limit = _max_length(target)
            if len(value) > limit:
                problems.append(_("“%(column)s” is longer than %(limit)s characters.") % {"column": label, "limit": limit})
            else:
                row.fields[target] = value
        elif target == "company":
            if len(value) > Company._meta.get_field("name").max_length:
                problems.append(_("“%(column)s” is longer than %(limit)s characters.")
                                % {"column": label, "limit": Company._meta.get_field("name").max_length})
            else:
                row.company = value
        elif target == "country":
            if COUNTRY.match(value):
                row.fields["country"] = value.upper()
            else:
                problems.append(_("“%(value)s” is not a two-letter country code.") % {"value": value})
        elif target == "points":
            try:
                number = parse_number(value)
                if number != int(number) or not INT_RANGE[0] <= number <= INT_RANGE[1]:
                    raise PropertyValueError
            except (PropertyValueError, OverflowError, ValueError):
                problems.append(_("“%(column)s”: “%(value)s” is not a whole number.") % {"column": label, "value": value})
            else:
                row.fields["points"] = int(number)
        elif target == "tags":
            for name in TAG_SEPARATORS.split(value):
                name = name.strip()
                if not name:
                    continue
                if len(name) > ContactTag._meta.get_field("name").max_length:
                    problems.append(_("The tag “%(tag)s…” is longer than %(limit)s characters.")
                                    % {"tag": name[:20], "limit": ContactTag._meta.get_field("name").max_length})
                elif name.casefold() not in {tag.casefold() for tag in row.tags}:
                    row.tags.append(name)
        else:
            key = target[len(PROPERTY_PREFIX):]
            if key in types:
                try:
                    typed = normalise_property(key, value, types)
                except PropertyValueError as error:
                    problems.append(f"“{label}”: {error}")
                    continue
                if typed is not None:
                    row.properties[key] = typed
            else:
                row.properties[key] = value
    if not row.key and not email_given:
        problems.insert(0, _("No email."))
    return row, problems
