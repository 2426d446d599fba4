"""The live preview of a segment's rules while an editor changes them.

The browser posts the edit form as it stands (nothing is saved); the rules are read from it
by the same StreamField block the form saves with, compiled by the same compiler the engine
uses, and counted under a time limit. A count that would take longer answers "still
counting" instead of holding a web worker on a huge table.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

from django.core.exceptions import ValidationError
from django.db import OperationalError, connection
from django.db.models import Count, Window
from django.http import QueryDict
from django.utils.translation import gettext as _

from wagtail_segments import conf
from wagtail_segments.contacts.models import Contact
from wagtail_segments.segments.compiler import matching_contacts
from wagtail_segments.segments.database import preview_queries
from wagtail_segments.segments.models import Segment
from wagtail_segments.segments.rules import RuleContext

PREVIEW_SIZE = 20
# SQLite calls the progress handler every this many virtual-machine instructions.
SQLITE_CHECK_EVERY = 10_000
POSTGRES_QUERY_CANCELED = "57014"


class StillCounting(Exception):
    """The query ran past the preview's time limit and was cancelled."""


@dataclass
class Preview:
    count: int | None = None  # None: not counted in time
    contacts: list[Contact] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    still_counting: bool = False


def _timed_out(error: OperationalError) -> bool:
    if connection.vendor == "postgresql":
        return getattr(error.__cause__, "sqlstate", None) == POSTGRES_QUERY_CANCELED
    return connection.vendor == "sqlite" and "interrupted" in str(error)


@contextmanager
def time_limit(milliseconds: int) -> Iterator[None]:
    """The preview's transaction (``preview_queries``), its queries stopped after
    ``milliseconds``: StillCounting.

    PostgreSQL: ``statement_timeout``, set with the preview's planner settings in one
    statement. SQLite: a progress handler that interrupts the statement after the deadline.
    Other databases run unguarded.
    """
    try:
        with preview_queries(statement_timeout_ms=milliseconds):
            if connection.vendor == "sqlite":
                deadline = time.monotonic() + milliseconds / 1000
                raw = connection.connection
                raw.set_progress_handler(lambda: int(time.monotonic() > deadline), SQLITE_CHECK_EVERY)
                try:
                    yield
                finally:
                    raw.set_progress_handler(None, 0)
            else:
                yield
    except OperationalError as error:
        if _timed_out(error):
            raise StillCounting from error
        raise


def error_messages(error: ValidationError) -> list[str]:
    """Every message in a (possibly nested StreamField) validation error, each with where it
    is: "Rule 1.2, operator: This field is required." (rules numbered as the compiler's)."""
    found: list[str] = []

    def walk(data, positions: tuple[int, ...], field: str) -> None:
        if not isinstance(data, dict):
            return
        for message in data.get("messages") or ():
            if positions:
                found.append(_("Rule %(path)s, %(field)s: %(message)s") % {
                    "path": ".".join(str(p + 1) for p in positions),
                    "field": field.replace("_", " "), "message": message,
                })
            else:
                found.append(str(message))
        for key, inner in (data.get("blockErrors") or {}).items():
            if isinstance(key, int) or str(key).isdigit():
                walk(inner, (*positions, int(key)), "")
            elif key == "rules":
                walk(inner, positions, field)
            else:
                walk(inner, positions, str(key))

    if hasattr(error, "as_json_data"):
        walk(error.as_json_data(), (), "")
    else:
        found.extend(error.messages)
    return found or [_("Some rules are incomplete.")]


def segment_from_form(data: QueryDict, files=None, pk: int | None = None) -> Segment:
    """An unsaved segment holding the match and rules as the edit form posted them;
    ValidationError if the rules are incomplete or make the segment depend on itself."""
    block = Segment._meta.get_field("rules").stream_block
    value = block.clean(block.value_from_datadict(data, files or {}, "rules"))
    match = data.get("match") if data.get("match") in Segment.Match.values else Segment.Match.ALL
    segment = Segment(pk=pk, match=match, rules=block.get_prep_value(value), name=data.get("name") or "")
    if pk is not None:
        segment.clean()  # cycles through other segments
    return segment


def preview(segment: Segment) -> Preview:
    """How many contacts the segment's rules match now, and the newest of them: one query
    (the count as a window over the matches, the newest 20 of them returned), so the
    matches are found once; past the time limit, "still counting" and no sample."""
    result = Preview()
    context = RuleContext()
    newest = (
        matching_contacts(segment, context)
        .annotate(total=Window(Count("*")))
        .order_by("-pk")
        .values_list("pk", "total")[:PREVIEW_SIZE]
    )
    try:
        with time_limit(conf.settings.ADMIN_PREVIEW_TIMEOUT_MS):
            rows = list(newest)
    except StillCounting:
        result.still_counting = True
        rows = []
    result.problems = list(dict.fromkeys(context.problems))
    if result.still_counting:
        return result
    result.count = rows[0][1] if rows else 0
    by_id = Contact.objects.select_related("company").in_bulk([pk for pk, _total in rows])
    result.contacts = [by_id[pk] for pk, _total in rows if pk in by_id]
    return result
