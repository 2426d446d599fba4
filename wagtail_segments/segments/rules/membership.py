"""Membership of another segment, read from stored memberships (never by inlining its rules)."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _
from wagtail import blocks

from wagtail_segments.contacts.models import EventKind

from .base import BrokenRule, Rule, register


def segment_choices():
    from wagtail_segments.segments.models import Segment

    try:
        return [(str(pk), name) for pk, name in Segment.objects.values_list("pk", "name")]
    except Exception:  # no table yet (before migrate)
        return []


@register
class SegmentMembershipRule(Rule):
    name = "segment"
    label = _("In another segment")
    icon = "group"
    depends_on = frozenset({f"events:{EventKind.SEGMENT_ENTERED}", f"events:{EventKind.SEGMENT_LEFT}"})

    def child_blocks(self):
        return [("segment", blocks.ChoiceBlock(choices=segment_choices, label=_("Segment")))]

    def referenced_segments(self, value):
        try:
            return {int(value.get("segment"))}
        except (TypeError, ValueError):
            return set()

    def compile(self, value, context):
        from wagtail_segments.segments.models import Membership, Segment

        ids = self.referenced_segments(value)
        if not ids or not Segment.objects.filter(pk__in=ids).exists():
            raise BrokenRule(_("The segment this rule names no longer exists."))
        members = Membership.objects.filter(segment_id__in=ids, excluded=False, contact_id=OuterRef("pk"))
        return Q(Exists(members))
