"""A StreamField block that shows different content to different segments."""

from __future__ import annotations

import copy

from django import forms
from django.utils.translation import gettext_lazy as _
from wagtail import blocks

from .personalisation import visitor_segment_slugs


def segment_choices() -> list[tuple[str, str]]:
    """Every segment, stored by slug; inactive ones are offered but marked (they match no one)."""
    from .models import Segment

    try:
        rows = Segment.objects.order_by("name").values_list("slug", "name", "active")
        return [
            (slug, name if active else _("%(name)s (inactive)") % {"name": name})
            for slug, name, active in rows
        ]
    except Exception:  # no table yet (before migrate)
        return []


def default_content_block() -> blocks.StreamBlock:
    return blocks.StreamBlock([("text", blocks.RichTextBlock())], required=False)


class PersonalisedContentBlock(blocks.StructBlock):
    """Content shown only to members of chosen segments, with a fallback for everyone else.

    An editor adds *variants*, each with one or more segments and its content. A visitor sees
    the content of the first variant, in the order the editor set, that names a segment they
    are a member of (any of its segments will do); a visitor in none of them, or without a
    contact cookie, sees the *everyone else* content. A variant naming a segment that was
    deleted or made inactive simply never matches.

    Add it to a StreamField of the site's own page model::

        from wagtail import blocks
        from wagtail.fields import StreamField
        from wagtail_segments.segments.content_blocks import PersonalisedContentBlock

        body = StreamField([
            ("text", blocks.RichTextBlock()),
            ("personalised", PersonalisedContentBlock()),
        ], blank=True, use_json_field=True)

    By default each variant's content is a stream of rich text. To offer the site's own
    blocks, pass a StreamBlock (or a list of ``(name, block)`` pairs)::

        PersonalisedContentBlock(content=blocks.StreamBlock([
            ("text", blocks.RichTextBlock()),
            ("image", ImageChooserBlock()),
            ("cta", CallToActionBlock()),
        ], required=False))

    Render the field with ``{% include_block page.body %}`` (or ``{% include_block block %}``
    in a loop), not ``{{ page.body }}``: the block needs ``request`` from the template
    context, and ``include_block`` passes it on. Without a request the fallback is shown.

    Reading memberships costs one query per request at most (shared with ``{% if_segment %}``)
    and none for a visitor without a contact cookie. A page that renders a block with variants
    is marked so that its response carries ``Vary: Cookie``. Content meant for segments is
    left out of the search index (only the fallback is indexed), so that a search cannot tell
    anyone what members are shown.
    """

    def __init__(self, content=None, local_blocks=None, **kwargs):
        if content is None:
            content = default_content_block()
        elif not isinstance(content, blocks.StreamBlock):
            content = blocks.StreamBlock(list(content), required=False)
        variant = blocks.StructBlock(
            [
                ("segments", blocks.MultipleChoiceBlock(
                    choices=segment_choices,
                    widget=forms.CheckboxSelectMultiple,
                    label=_("Show to members of"),
                    help_text=_("Any of these segments."),
                )),
                ("content", copy.deepcopy(content)),
            ],
            label=_("Variant"),
            icon="group",
        )
        children = [
            ("variants", blocks.ListBlock(
                variant,
                label=_("Variants"),
                help_text=_(
                    "A visitor sees the first variant, from the top, that names a segment "
                    "they are in. Drag the variants to set their order."
                ),
            )),
            ("fallback", copy.deepcopy(content)),
            *(local_blocks or []),
        ]
        super().__init__(children, **kwargs)
        self.child_blocks["fallback"].label = _("Everyone else")

    class Meta:
        icon = "group"
        label = _("Personalised content")

    # -- choosing

    def chosen_content(self, value, context=None):
        """The content a visitor sees: the first matching variant's, or the fallback."""
        variants = list(value.get("variants") or [])
        if variants:
            request = context.get("request") if context is not None else None
            if request is not None:
                slugs = visitor_segment_slugs(request)
                for variant in variants:
                    if not slugs.isdisjoint(variant.get("segments") or ()):
                        return variant.get("content")
        return value.get("fallback")

    # -- rendering

    def get_context(self, value, parent_context=None):
        context = super().get_context(value, parent_context=parent_context)
        context["content"] = self.chosen_content(value, parent_context)
        return context

    def render(self, value, context=None):
        if getattr(self.meta, "template", None):
            # A site template gets the chosen stream as ``content`` (see get_context).
            return super().render(value, context)
        content = self.chosen_content(value, context)
        if content is None:
            return ""
        return content.render_as_block(context)

    def render_basic(self, value, context=None):
        content = self.chosen_content(value, context)
        return content.render_as_block(context) if content is not None else ""

    def get_searchable_content(self, value):
        return self.child_blocks["fallback"].get_searchable_content(value.get("fallback"))
