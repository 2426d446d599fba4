"""The rule contract, its registry, and the context a rule compiles in.

A rule type is a small object: a StructBlock for editors, ``compile()`` returning a ``Q`` over
``Contact`` (never evaluated in Python), ``describe()`` for screens, and ``depends_on``: what
kind of change can alter its result, so that the incremental path re-evaluates only the
segments a change can move.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any, Iterable

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from wagtail import blocks

# Reasons a contact may be re-evaluated, besides "contact" (any field saved), "tags", "time"
# and "events:<kind>": the pass over new events moves only these two fields.
LAST_SEEN_CHANGED = "contact.last_seen"
COUNTRY_CHANGED = "contact.country"

NOTHING = Q(pk__in=[])
# Everyone, as a condition that negates to no one (an empty Q() negates to everyone again).
EVERYONE = Q(pk__isnull=False)


class BrokenRule(Exception):
    """The rule names something that no longer exists; it matches no one and is flagged."""


@dataclass
class RuleContext:
    """One evaluation: a fixed ``now``, and optionally the contacts it is narrowed to, so that
    rules can narrow their own subqueries (an id range for rebuilds, a list for increments)."""

    now: datetime.datetime = field(default_factory=timezone.now)
    id_range: tuple[int, int] | None = None
    ids: list[int] | None = None
    problems: list[str] = field(default_factory=list)
    cache: dict = field(default_factory=dict)

    def property_types(self) -> dict[str, str]:
        """Declared contact properties and their types, read once per evaluation."""
        if "property_types" not in self.cache:
            from wagtail_segments.contacts.properties import property_types

            self.cache["property_types"] = property_types()
        return self.cache["property_types"]

    @property
    def today(self) -> datetime.date:
        return timezone.localtime(self.now).date()

    def day_start(self, day: datetime.date) -> datetime.datetime:
        """Midnight of ``day`` in the site's time zone."""
        return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))

    def narrow(self, queryset: QuerySet, contact_field: str = "contact_id") -> QuerySet:
        """Restrict a per-contact subquery (events, tags, memberships) to this evaluation's contacts."""
        if self.ids is not None:
            return queryset.filter(**{f"{contact_field}__in": self.ids})
        if self.id_range is not None:
            low, high = self.id_range
            return queryset.filter(**{f"{contact_field}__gte": low, f"{contact_field}__lt": high})
        return queryset


class Rule:
    """Base of every rule type. Subclass, set ``name``/``label``, and register it."""

    name: str = ""
    label: str = ""
    icon: str = "sliders"
    depends_on: frozenset[str] = frozenset({"contact"})

    def child_blocks(self) -> list[tuple[str, blocks.Block]]:
        raise NotImplementedError

    def compile(self, value: dict, context: RuleContext) -> Q:
        raise NotImplementedError

    def describe(self, value: dict) -> str:
        return str(self.label)

    def referenced_segments(self, value: dict) -> set[int]:
        return set()

    def dependencies(self, value: dict) -> set[str]:
        """What kinds of change can alter this rule's result: ``depends_on``, made finer by the
        rule's settings where it can tell (a date rule on last seen moves with every visit,
        one on a birthday does not)."""
        return set(self.depends_on)

    def moved_by(self, value: dict, context: "RuleContext") -> Q | None:
        """Which new events can change this rule's result for their contact, as a ``Q`` over
        ``Event``, or None when no event can. The pass over new events re-evaluates a
        segment only for the contacts whose new events match one of its rules' ``moved_by``,
        so a rule over one page is not re-run for visitors of every other page. The default
        is every event of the kinds in ``dependencies()``."""
        kinds = sorted(d.split(":", 1)[1] for d in self.dependencies(value) if d.startswith("events:"))
        return Q(kind__in=kinds) if kinds else None

    def block(self) -> blocks.StructBlock:
        children = [
            *self.child_blocks(),
            ("negate", blocks.BooleanBlock(
                required=False, label=_("Not"), help_text=_("Match contacts this rule does not match."))),
        ]
        return blocks.StructBlock(children, label=self.label, icon=self.icon)


class RuleRegistry:
    def __init__(self) -> None:
        self._rules: dict[str, Rule] = {}
        self.version = 0

    def register(self, rule_class: type[Rule]) -> type[Rule]:
        rule = rule_class()
        if not rule.name or rule.name == "group":
            raise ValueError(f"{rule_class.__name__} needs a name other than 'group'.")
        self._rules[rule.name] = rule
        self.version += 1
        return rule_class

    def unregister(self, name: str) -> None:
        self._rules.pop(name, None)
        self.version += 1

    def get(self, name: str) -> Rule | None:
        return self._rules.get(name)

    def __iter__(self) -> Iterable[Rule]:
        return iter(list(self._rules.values()))


registry = RuleRegistry()


def register(rule_class: type[Rule]) -> type[Rule]:
    """Class decorator: ``@register`` a Rule subclass to offer it in every segment's rules."""
    return registry.register(rule_class)


def split_list(value: Any) -> list[str]:
    """Items of a comma- or newline-separated list, trimmed, empties dropped."""
    if isinstance(value, (list, tuple)):
        items = value
    else:
        items = str(value or "").replace("\n", ",").split(",")
    return [str(item).strip() for item in items if str(item).strip()]
