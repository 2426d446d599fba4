"""Building segments and rules in tests: rule values with the defaults the editor fills in."""

from __future__ import annotations

from wagtail_segments.segments.evaluation import rebuild_segment
from wagtail_segments.segments.models import Segment

WINDOW = {"window": "ever", "days": None, "start": None, "end": None}
COUNT = {"count_operator": "at_least", "count": 1}


def rule(kind: str, negate: bool = False, **value) -> dict:
    defaults = {
        "page_views": {"target": "page", "page": None, "path": "", **COUNT, **WINDOW},
        "form_submitted": {"page": None, "answer_field": "", "answer_operator": "eq", "answer_value": "", **COUNT, **WINDOW},
        "traffic": {"field": "utm_source", "operator": "eq", "value": "", **WINDOW},
        "date": {"field": "last_seen", "operator": "today", "date": None, "end_date": None, "number": None},
        "contact_field": {"field": "email", "operator": "eq", "value": ""},
        "tags": {"operator": "any"},
    }.get(kind, {})
    return {"type": kind, "value": {**defaults, **value, "negate": negate}}


def group(match: str, *rules: dict, negate: bool = False) -> dict:
    return {"type": "group", "value": {"match": match, "negate": negate, "rules": list(rules)}}


_slugs = iter(range(1, 10**6))


def segment(*rules: dict, match: str = "all", kind: str = "dynamic", build: bool = True, **fields) -> Segment:
    n = next(_slugs)
    made = Segment.objects.create(
        name=fields.pop("name", f"Segment {n}"), slug=fields.pop("slug", f"segment-{n}"),
        kind=kind, match=match, rules=list(rules), **fields,
    )
    if build:
        rebuild_segment(made)
    return made


def members(segment: Segment) -> set[int]:
    return set(segment.members().values_list("pk", flat=True))
