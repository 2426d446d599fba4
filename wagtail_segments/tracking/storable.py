"""Visitor input made storable: every value a request brings (path, query, headers, beacon
JSON, form answers) passes through here before it reaches the database.

Both databases refuse things a visitor can send: PostgreSQL any NUL in text or JSON and
Python strings holding lone surrogates; SQLite's JSON check ``NaN`` and ``Infinity``; every
JSON encoder an integer of more than 4300 digits. And both read some values differently:
SQLite's JSON functions turn an integer beyond 64 bits into a float (``inf`` beyond 1e308)
where PostgreSQL keeps it exact, so a rule would compare it differently. So text is cleaned
(control characters stripped, lone surrogates replaced, cut to the column), and numbers
that cannot be stored or compared alike are refused: the caller drops the value or the
event, never the visitor's page.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import re
from collections.abc import Iterator
from typing import Any

from django.db import DatabaseError, connection, transaction

logger = logging.getLogger(__name__)

# What a JSON integer may be: SQLite's JSON functions read wider ones as floats.
MAX_INT = 2**63 - 1
# Nesting a visitor's JSON may have: enough for any real event, far below the recursion limit.
MAX_DEPTH = 8
# Values (containers and scalars) in one visitor JSON document.
MAX_NODES = 2000

_SURROGATES = re.compile("[\ud800-\udfff]")
# C0 controls and DEL; tab, newline and carriage return only where text may have lines.
_CONTROLS = re.compile("[\x00-\x1f\x7f]")
_CONTROLS_BUT_LINES = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class Unstorable(ValueError):
    """A value that cannot be made safe to store; the caller drops it (and says so at debug)."""


def storable_text(value: Any, max_length: int | None = None, *, lines: bool = False) -> str:
    """``value`` as text a column accepts: no control characters (tab, newline and carriage
    return stay when ``lines``), lone surrogates replaced by U+FFFD, at most ``max_length``
    characters. None is ""."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    text = _SURROGATES.sub("\ufffd", text)
    text = (_CONTROLS_BUT_LINES if lines else _CONTROLS).sub("", text)
    return text if max_length is None else text[:max_length]


def storable_number(value: int | float) -> int | float:
    """``value`` if both databases store and compare it alike; else Unstorable."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        raise Unstorable(f"non-finite number {value!r}")
    if isinstance(value, int) and not -MAX_INT - 1 <= value <= MAX_INT:
        raise Unstorable("integer beyond 64 bits")
    return value


def storable_json(value: Any, *, max_depth: int = MAX_DEPTH, max_nodes: int = MAX_NODES) -> Any:
    """A copy of ``value`` a JSON column accepts: strings (keys too) cleaned, numbers checked,
    nesting and size bounded. Raises Unstorable when a number or the shape cannot be kept.
    Values that are not JSON types (dates, decimals from host code) pass unchanged: the
    column's encoder writes them as text."""
    budget = [max_nodes]

    def clean(item: Any, depth: int) -> Any:
        budget[0] -= 1
        if budget[0] < 0:
            raise Unstorable(f"more than {max_nodes} values")
        if isinstance(item, str):
            return storable_text(item, lines=True)
        if isinstance(item, (bool, int, float)):
            return storable_number(item)
        if isinstance(item, (dict, list, tuple)):
            if depth >= max_depth:
                raise Unstorable(f"nested deeper than {max_depth}")
            if isinstance(item, dict):
                return {storable_text(key, lines=True): clean(inner, depth + 1) for key, inner in item.items()}
            return [clean(inner, depth + 1) for inner in item]
        return item

    return clean(value, 0)


def _refuse_constant(name: str):
    raise Unstorable(f"{name} is not a number a database stores")


def _finite_float(text: str) -> float:
    return storable_number(float(text))


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > 19:
        raise Unstorable("integer beyond 64 bits")
    return storable_number(int(text))


def json_nesting(text: str) -> int:
    """How deep the arrays and objects of a JSON text nest (strings skipped), read without
    parsing: ``json.loads`` recurses once per level and would exhaust the stack first."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def json_from_visitor(text: str, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse a visitor's JSON text into storable values. Raises Unstorable for nesting
    deeper than ``max_depth``, ``NaN``, ``Infinity``, a float that overflows (``1e400``) and
    an integer beyond 64 bits; ValueError for text that is not JSON."""
    if json_nesting(text) > max_depth:
        raise Unstorable(f"nested deeper than {max_depth}")
    value = json.loads(
        text, parse_constant=_refuse_constant, parse_float=_finite_float, parse_int=_bounded_int,
    )
    return storable_json(value, max_depth=max_depth)


@contextlib.contextmanager
def dropped_when_refused(what: str) -> Iterator[None]:
    """Run a tracking write so that a value the database still refuses drops the write, not
    the visitor's request. Inside a transaction of the site's own (``ATOMIC_REQUESTS``) the
    write gets a savepoint: a refused statement must not abort the site's transaction."""
    try:
        if connection.in_atomic_block:
            with transaction.atomic():
                yield
        else:
            yield
    except (DatabaseError, ValueError) as error:  # ValueError: text the driver cannot encode
        logger.debug("Dropped %s: the database refused a value (%s).", what, error, exc_info=True)
