"""From stored rules to one queryset of contact ids.

Rules are read from the field's raw JSON, not through the blocks, so that compiling never
loads pages or segments it does not need and a deleted page is just an id that is gone.
For a fixed ``now`` a segment compiles to one query (subqueries allowed) that can be
narrowed to an id range (rebuilds) or an id list (incremental updates).
"""

from __future__ import annotations

from typing import Iterable

from django.db.models import Q, QuerySet, Subquery
from django.utils.translation import gettext as _

from wagtail_segments.contacts.models import Contact

from .rules import BrokenRule, RuleContext, load_builtin_rules, registry
from .rules.base import NOTHING


def raw_rules(segment) -> list[dict]:
    """The segment's rules as stored: a list of {"type", "value", "id"} dicts."""
    rules = segment.rules
    raw = getattr(rules, "raw_data", rules)
    return list(raw or [])


def reads_other_tables(q: Q) -> bool:
    """Whether a condition holds a subquery (events, tags, memberships)."""
    for child in q.children:
        if isinstance(child, Q):
            found = reads_other_tables(child)
        elif isinstance(child, tuple):  # (lookup, value): pk__in=<queryset>
            found = isinstance(child[1], (QuerySet, Subquery))
        else:  # an expression: Exists(...)
            found = isinstance(child, Subquery)
        if found:
            return True
    return False


def _children_q(match: str, children: Iterable[dict], context: RuleContext, path: str) -> Q | None:
    parts = [q for q in (compile_item(child, context, f"{path}{i + 1}") for i, child in enumerate(children)) if q is not None]
    if not parts:
        return None
    if match == "any":
        # Databases evaluate OR from left to right and do not reorder it: a column test first
        # spares the subquery for every contact it already admits (docs/scaling.md).
        parts.sort(key=reads_other_tables)
    combined = parts[0]
    for part in parts[1:]:
        combined = combined | part if match == "any" else combined & part
    return combined


def compile_item(item: dict, context: RuleContext, path: str = "") -> Q | None:
    """One rule or group as a Q; None for an empty group (it constrains nothing)."""
    kind = item.get("type")
    value = item.get("value") or {}
    negate = bool(value.get("negate"))
    if kind == "group":
        q = _children_q(value.get("match") or "all", value.get("rules") or [], context, f"{path}.")
        if q is None:
            return None
        return ~q if negate else q
    rule = registry.get(kind)
    if rule is None:
        context.problems.append(_("Rule %(path)s: the rule type “%(type)s” is not installed.") % {"path": path, "type": kind})
        return NOTHING
    try:
        q = rule.compile(value, context)
    except BrokenRule as problem:
        # A rule naming something deleted matches no one, negated or not.
        context.problems.append(_("Rule %(path)s (%(label)s): %(problem)s") % {"path": path, "label": rule.label, "problem": problem})
        return NOTHING
    return ~q if negate else q


def compile_rules(segment, context: RuleContext) -> Q:
    """The segment's rules as one Q. A dynamic segment with no rules matches no one."""
    load_builtin_rules()
    q = _children_q(segment.match, raw_rules(segment), context, "")
    return NOTHING if q is None else q


def matching_contacts(segment, context: RuleContext) -> QuerySet:
    """Ids of the live contacts the rules match, narrowed as the context says."""
    queryset = Contact.objects.filter(merged_into__isnull=True).filter(compile_rules(segment, context))
    if context.ids is not None:
        queryset = queryset.filter(pk__in=context.ids)
    elif context.id_range is not None:
        queryset = queryset.filter(pk__gte=context.id_range[0], pk__lt=context.id_range[1])
    return queryset.order_by().values_list("pk", flat=True)


def rule_items(items: Iterable[dict]) -> Iterable[dict]:
    """Every rule (not group) in a rules tree."""
    for item in items:
        if item.get("type") == "group":
            yield from rule_items((item.get("value") or {}).get("rules") or [])
        else:
            yield item


def dependencies(segment) -> set[str]:
    """What kinds of change can alter this segment's members (see Rule.depends_on)."""
    load_builtin_rules()
    found: set[str] = set()
    for item in rule_items(raw_rules(segment)):
        rule = registry.get(item.get("type"))
        if rule is not None:
            found |= rule.dependencies(item.get("value") or {})
    return found


def moving_events(segment, context: RuleContext) -> Q | None:
    """Which new events can move a contact in or out of this segment (a Q over Event), or
    None when none can. A rule naming something deleted matches no one whatever happens."""
    load_builtin_rules()
    found: Q | None = None
    for item in rule_items(raw_rules(segment)):
        rule = registry.get(item.get("type"))
        if rule is None:
            continue
        try:
            q = rule.moved_by(item.get("value") or {}, context)
        except BrokenRule:
            continue
        if q is not None:
            found = q if found is None else found | q
    return found


def referenced_segments(segment) -> set[int]:
    load_builtin_rules()
    found: set[int] = set()
    for item in rule_items(raw_rules(segment)):
        rule = registry.get(item.get("type"))
        if rule is not None:
            found |= rule.referenced_segments(item.get("value") or {})
    return found
