"""The StreamField that stores a segment's rules.

Its blocks come from the rule registry, rebuilt whenever a rule type is registered, and are
left out of the field's ``deconstruct()``: a host that registers its own rule type never
needs a migration here.
"""

from wagtail.fields import StreamField


class RulesField(StreamField):
    def __init__(self, *args, **kwargs):
        kwargs.pop("block_lookup", None)
        super().__init__(None, **kwargs)
        self._built_for = None

    @property
    def stream_block(self):
        from .blocks import rules_stream_block
        from .rules import registry

        if self._built_for != registry.version or self.__dict__.get("_stream_block") is None:
            block = rules_stream_block()
            block.set_meta_options(self.block_opts)
            self.__dict__["_stream_block"] = block
            self._built_for = registry.version
        return self.__dict__["_stream_block"]

    def deconstruct(self):
        name, _path, _args, kwargs = super().deconstruct()
        kwargs.pop("block_lookup", None)
        return name, "wagtail_segments.segments.fields.RulesField", [], kwargs
