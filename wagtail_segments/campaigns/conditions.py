"""Condition steps: segment rules, evaluated once for one contact when its run reaches them.

Settings are a segment's rules as stored (the segments' rule registry and compiler, no
second rule language) and how they combine::

    {"match": "all", "rules": [
        {"type": "tags", "value": {"operator": "any", "tags": "customer"}},
        {"type": "page_views", "value": {"target": "page", "page": 7, "count_operator": "at_least",
                                          "count": 1, "window": "last_days", "days": 30}},
    ]}

The rules compile to one ``Q`` over contacts, narrowed to the one contact: a single query.
A rule naming something deleted (a page, a form field, a segment, a property) matches no
one, and the tree's validation names the step.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from wagtail_segments.contacts.models import Contact
from wagtail_segments.segments.compiler import compile_rules
from wagtail_segments.segments.rules import RuleContext


@dataclass
class ConditionRules:
    """A condition's rules in the shape the segments compiler reads from a segment."""

    rules: list = field(default_factory=list)
    match: str = "all"

    @classmethod
    def from_config(cls, config: dict) -> "ConditionRules":
        rules = config.get("rules")
        return cls(rules=list(rules) if isinstance(rules, list) else [], match=config.get("match") or "all")


def condition_problems(config: dict) -> list[str]:
    """What is wrong with a condition's rules, in the compiler's words."""
    rules = ConditionRules.from_config(config)
    if not rules.rules:
        return [_("Give the condition at least one rule.")]
    if rules.match not in ("all", "any"):
        return [_("Say whether all or any of the rules must match.")]
    context = RuleContext(ids=[0])
    compile_rules(rules, context)
    return list(context.problems)


def contact_matches(config: dict, contact_id: int, now: datetime.datetime) -> bool:
    """Whether the contact matches the condition's rules at ``now``."""
    context = RuleContext(now=now, ids=[contact_id])
    q = compile_rules(ConditionRules.from_config(config), context)
    return Contact.objects.filter(pk=contact_id).filter(q).exists()
