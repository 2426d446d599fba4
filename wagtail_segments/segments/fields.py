"""The StreamField that stores a segment's rules.

Its blocks come from the rule registry when first used, and are left out of the field's
``deconstruct()``: a host that registers its own rule type never needs a migration here.
"""

from django.utils.functional import cached_property
from wagtail.fields import StreamField


class RulesField(StreamField):
    def __init__(self, *args, **kwargs):
        kwargs.pop("block_lookup", None)
        super().__init__(None, **kwargs)

    @cached_property
    def stream_block(self):
        from .blocks import rules_stream_block

        return rules_stream_block()

    def deconstruct(self):
        name, _path, _args, kwargs = super().deconstruct()
        kwargs.pop("block_lookup", None)
        return name, "wagtail_segments.segments.fields.RulesField", [], kwargs
