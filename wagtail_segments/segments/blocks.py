"""The rules editor: every registered rule type as a block, in groups of "all"/"any" nested
to a fixed depth. A StreamField cannot nest itself, so each level is built from the same
rule block instances with the next level's group inside."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from wagtail import blocks

from .rules import load_builtin_rules, registry

MAX_GROUP_DEPTH = 4
MATCH_CHOICES = [("all", _("All of")), ("any", _("Any of"))]


def group_block(inner: blocks.StreamBlock) -> blocks.StructBlock:
    return blocks.StructBlock(
        [
            ("match", blocks.ChoiceBlock(choices=MATCH_CHOICES, default="all", label=_("Match"))),
            ("negate", blocks.BooleanBlock(required=False, label=_("Not"))),
            ("rules", inner),
        ],
        label=_("Group"),
        icon="list-ul",
    )


def rules_stream_block() -> blocks.StreamBlock:
    load_builtin_rules()
    rule_blocks = [(rule.name, rule.block()) for rule in registry]
    level = blocks.StreamBlock(rule_blocks, required=False)
    for _depth in range(MAX_GROUP_DEPTH):
        level = blocks.StreamBlock([*rule_blocks, ("group", group_block(level))], required=False)
    return level
