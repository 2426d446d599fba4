"""The blocks an email body is made of: what mail programs render reliably."""

from django.utils.translation import gettext_lazy as _
from wagtail import blocks


class ButtonBlock(blocks.StructBlock):
    text = blocks.CharBlock(label=_("text"), max_length=100)
    url = blocks.URLBlock(label=_("link"))

    class Meta:
        icon = "link"
        label = _("Button")


class EmailBodyBlock(blocks.StreamBlock):
    text = blocks.RichTextBlock(
        label=_("Text"), features=["h2", "h3", "bold", "italic", "link", "ol", "ul", "hr"],
    )
    button = ButtonBlock()
