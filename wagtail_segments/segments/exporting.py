"""Exporting a segment's members to CSV.

``members_csv_rows(segment)`` yields the header and one row per member (a contact excluded by
hand is not a member), reading memberships in keyset-paginated batches, so memory stays flat
however big the segment is. ``export_members(segment, file)`` writes them to an open text file;
``members_csv_lines(segment)`` gives the same as CSV text lines, for a ``StreamingHttpResponse``.

The file is meant to be opened in spreadsheets: a text cell that starts with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return gets a leading apostrophe so that it is never run as a
formula (numbers such as ``-5`` are left alone). ``import_contacts`` takes that apostrophe off
again, and ignores the ``membership_*`` columns, so an export can be imported as it is.
"""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from typing import IO, Any, Iterator

from django.utils import timezone

from wagtail_segments.contacts.models import PropertyDefinition, TaggedContact

from .models import Membership, Segment

EXPORT_BATCH = 2_000
CONTACT_COLUMNS = ["email", "first_name", "last_name", "phone", "company", "country", "points", "tags"]
MEMBERSHIP_COLUMNS = ["membership_source", "membership_added_at"]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"^[+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$")


def guard_cell(value: Any) -> str:
    """The cell as text, with a leading apostrophe if a spreadsheet would read it as a formula."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS) and not NUMBER.match(text):
        return "'" + text
    return text


def _property_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _property_keys() -> list[tuple[str, str]]:
    """(key, header) of each declared property; a key that is also a column name is prefixed."""
    taken = {*CONTACT_COLUMNS, *MEMBERSHIP_COLUMNS}
    return [
        (key, f"properties.{key}" if key in taken else key)
        for key in PropertyDefinition.objects.order_by("key").values_list("key", flat=True)
    ]


def members_csv_header() -> list[str]:
    return [*CONTACT_COLUMNS, *(header for _key, header in _property_keys()), *MEMBERSHIP_COLUMNS]


def members_csv_rows(segment: Segment, *, header: bool = True, batch_size: int = EXPORT_BATCH) -> Iterator[list[str]]:
    """The header, then one row of guarded cells per member, in the order they were added."""
    keys = _property_keys()
    if header:
        yield [*CONTACT_COLUMNS, *(name for _key, name in keys), *MEMBERSHIP_COLUMNS]
    memberships = (
        Membership.objects.filter(segment=segment, excluded=False)
        .order_by("pk")
        .values_list(
            "pk", "contact_id", "source", "added_at",
            "contact__email", "contact__first_name", "contact__last_name", "contact__phone",
            "contact__company__name", "contact__country", "contact__points", "contact__properties",
        )
    )
    last = 0
    while True:
        batch = list(memberships.filter(pk__gt=last)[:batch_size])
        if not batch:
            return
        last = batch[-1][0]
        tags: dict[int, list[str]] = defaultdict(list)
        for contact_id, name in (
            TaggedContact.objects.filter(content_object_id__in=[row[1] for row in batch])
            .order_by("tag__name").values_list("content_object_id", "tag__name")
        ):
            tags[contact_id].append(name)
        for (_pk, contact_id, source, added_at, email, first_name, last_name, phone, company,
             country, points, properties) in batch:
            properties = properties if isinstance(properties, dict) else {}
            yield [
                guard_cell(email), guard_cell(first_name), guard_cell(last_name), guard_cell(phone),
                guard_cell(company), guard_cell(country), str(points), guard_cell(", ".join(tags[contact_id])),
                *(guard_cell(_property_text(properties.get(key))) for key, _name in keys),
                source,
                timezone.localtime(added_at).strftime("%Y-%m-%d %H:%M:%S") if added_at else "",
            ]


def export_members(segment: Segment, file: IO[str], *, bom: bool = False) -> int:
    """Write the members of ``segment`` as CSV to an open text file (open it with
    ``newline=""``); ``bom`` writes a UTF-8 byte order mark first, for Excel.
    Returns the number of members written."""
    if bom:
        file.write("\ufeff")
    writer = csv.writer(file)
    count = -1
    for row in members_csv_rows(segment):
        writer.writerow(row)
        count += 1
    return count


class _Echo:
    def write(self, value: str) -> str:
        return value


def members_csv_lines(segment: Segment, *, bom: bool = True) -> Iterator[str]:
    """The CSV text line by line, e.g. ``StreamingHttpResponse(members_csv_lines(segment),
    content_type="text/csv; charset=utf-8")``."""
    writer = csv.writer(_Echo())
    first = True
    for row in members_csv_rows(segment):
        line = writer.writerow(row)
        if first and bom:
            line = "\ufeff" + line
        first = False
        yield line
