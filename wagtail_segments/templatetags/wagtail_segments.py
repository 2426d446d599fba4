"""Template tags of wagtail_segments. ``{% load wagtail_segments %}``, then::

    {% if_segment "customers" %}
        Thanks for being a customer.
    {% else %}
        Start your free trial.
    {% endif_segment %}

Several segments mean "any of them": ``{% if_segment "leads" "customers" %}``. A slug may be a
variable, or a variable holding a list of slugs. The tag reads the visitor's stored
memberships through ``visitor_segment_slugs``: one query per request at most, however many
tags a page has, and none for a visitor without a contact cookie. It needs ``request`` in the
template context (Wagtail pages and Django's request context processor put it there); without
it, the ``else`` branch is rendered.

A page that uses the tag marks its request, so that the response carries ``Vary: Cookie``.
"""

from __future__ import annotations

from django import template

from wagtail_segments.segments.personalisation import visitor_in_segment

register = template.Library()


class IfSegmentNode(template.Node):
    child_nodelists = ("nodelist_true", "nodelist_false")

    def __init__(self, slugs: list[template.base.FilterExpression], nodelist_true, nodelist_false):
        self.slugs = slugs
        self.nodelist_true = nodelist_true
        self.nodelist_false = nodelist_false

    def __repr__(self) -> str:
        return f"<IfSegmentNode {[slug.token for slug in self.slugs]}>"

    def resolve_slugs(self, context) -> list[str]:
        slugs: list[str] = []
        for expression in self.slugs:
            value = expression.resolve(context, ignore_failures=True)
            values = value if isinstance(value, (list, tuple, set, frozenset)) else [value]
            slugs.extend(str(item) for item in values if isinstance(item, str) and item)
        return slugs

    def render(self, context) -> str:
        request = context.get("request")
        matched = request is not None and visitor_in_segment(request, *self.resolve_slugs(context))
        return (self.nodelist_true if matched else self.nodelist_false).render(context)


@register.tag("if_segment")
def do_if_segment(parser, token):
    """``{% if_segment "slug" ["slug" ...] %}…[{% else %}…]{% endif_segment %}``"""
    bits = token.split_contents()
    tag_name, args = bits[0], bits[1:]
    if not args:
        raise template.TemplateSyntaxError(
            f"'{tag_name}' needs at least one segment slug, e.g. {{% {tag_name} \"customers\" %}}."
        )
    slugs = [parser.compile_filter(arg) for arg in args]
    nodelist_true = parser.parse(("else", "endif_segment"))
    token = parser.next_token()
    if token.contents == "else":
        nodelist_false = parser.parse(("endif_segment",))
        parser.delete_first_token()
    else:
        nodelist_false = template.NodeList()
    return IfSegmentNode(slugs, nodelist_true, nodelist_false)
