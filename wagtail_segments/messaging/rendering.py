"""Turning an ``EmailMessage`` into the subject, HTML and text one contact receives.

Merge fields are Django template syntax over a small, plain context (never a model), the
same for email and SMS (``merge.py``)::

    {{ first_name|default:"there" }}   {{ last_name }}   {{ full_name }}   {{ email }}
    {{ company }}   {{ country }}   {{ points }}   {{ properties.plan }}   (any property, by its key)
    {% if properties.plan == "gold" %}…{% endif %}

In the HTML every value is escaped (contact data comes from visitors); the subject,
preheader and text part are plain text and take values as they are. ``{% load %}`` and
``{% include %}`` find nothing: a message cannot reach templates or tags of the site.

A message is prepared once per batch (``prepare``): its blocks become HTML, the links in it
are numbered and replaced by slots, the site's email layout (``EMAIL_TEMPLATE``) is rendered
around it once, with slots standing in for the per-delivery values (preheader, unsubscribe
and preference URLs, open pixel), and the text part is made once from the same source with
html2text. A slot is a word holding a secret of the batch, so that no contact's value and no
editor's text can be one. The layout's CSS is inlined into it then too (``css_inline``), merge
tags and slots still in it. Each contact then costs two template renders of its merge fields
only, the slots filled in after them (escaped in the HTML as the template would), and its
signed links.
"""

from __future__ import annotations

import html
import re
import secrets
from dataclasses import dataclass, field

import css_inline
import html2text
from django.template import Context
from django.template.loader import render_to_string
from django.utils.html import format_html
from django.utils.safestring import SafeData, mark_safe
from django.utils.translation import gettext as _

from wagtail_segments.conf import settings as conf

from . import links as public_links
from .merge import MergeFieldError, merge_context, merge_template, plain_text
from .models import EmailMessage, Purpose

TAG = re.compile(r"{{.*?}}|{%.*?%}", re.S)
HREF = re.compile(r"""(<a\b[^>]*?\shref\s*=\s*)(["'])(.*?)\2""", re.I | re.S)
BLOCK_KEY = re.compile(r'\sdata-block-key="[^"]*"')
TRACKABLE = ("http://", "https://")
INLINER = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)

# What a preview or a sample shows for a contact's empty fields (the fallbacks apply).
SAMPLE_VALUES = {"first_name": "", "last_name": "", "email": "", "company": ""}


class MergeTemplateError(ValueError):
    """A message whose merge fields are not valid template syntax; the text names it."""


def _untangle(source: str) -> str:
    """Rich text stores ``{% if points > 3 %}`` as ``{% if points &gt; 3 %}``: read the
    entities back inside template tags only."""
    return TAG.sub(lambda match: html.unescape(match.group(0)), source)


def _compile(source: str, where: str):
    try:
        return merge_template(source, autoescape=True)
    except MergeFieldError as error:
        raise MergeTemplateError(f"{where}: {error}") from error


def _plain(text: str) -> str:
    """One line: a subject or preheader never carries a line break (header injection)."""
    return " ".join(text.split())


def body_html(message: EmailMessage) -> str:
    """The message's blocks as HTML (with its merge tags still in it)."""
    parts = []
    for block in message.body:
        if block.block_type == "button":
            parts.append(render_to_string("wagtail_segments/messaging/button.html", {"button": block.value}))
        else:
            parts.append(str(block.render()))
    return BLOCK_KEY.sub("", "".join(parts))


@dataclass
class Rendered:
    subject: str
    preheader: str
    html: str
    text: str
    links: list[str] = field(default_factory=list)
    unsubscribe_url: str = ""


class PreparedEmail:
    """A message compiled once for many contacts (see the module's docstring)."""

    def __init__(self, message: EmailMessage, base_url: str | None = None) -> None:
        self.message = message
        self.marketing = message.purpose == Purpose.MARKETING
        self.base_url = base_url or public_links.base_url()
        self.urls = public_links.BatchLinks(self.base_url)
        problems = []
        compiled = {}
        for name, source in (("subject", message.subject), ("preheader", message.preheader)):
            try:
                compiled[name] = _compile(source or "", str(EmailMessage._meta.get_field(name).verbose_name))
            except MergeTemplateError as error:
                problems.append(str(error))
        # Where the per-delivery values go: words no contact value or editor can hold, since
        # they carry a secret of this batch (see ``render``).
        self._nonce = secrets.token_hex(8)
        self._slot = re.compile(f"wsg{self._nonce}([a-z0-9]+)q")
        body, self.link_sources = self._number_links(_untangle(body_html(message)))
        self.links = []
        for index, source in enumerate(self.link_sources):
            try:
                self.links.append(_compile(source, _("link %(n)s") % {"n": index + 1}) if "{" in source else source)
            except MergeTemplateError as error:
                problems.append(str(error))
        stand_ins = {
            "body": mark_safe(body),
            "preheader": mark_safe(self._slot_for("preheader")),
            "unsubscribe_url": mark_safe(self._slot_for("unsubscribe")),
            "preference_url": mark_safe(self._slot_for("preferences")),
            "pixel": mark_safe(self._slot_for("pixel")),
            "marketing": self.marketing,
            "message": message,
        }
        layout = render_to_string(conf.EMAIL_TEMPLATE, stand_ins)
        footer = render_to_string(conf.EMAIL_TEXT_FOOTER_TEMPLATE, stand_ins)
        try:
            self.html = _compile(_inline(layout), _("body"))
            self.text = _compile(_html_to_text(body).rstrip() + "\n" + footer, _("body"))
        except MergeTemplateError as error:
            problems.append(str(error))
        if problems:
            raise MergeTemplateError(
                _("The email “%(message)s” has broken merge fields: %(problems)s")
                % {"message": message, "problems": "; ".join(problems)}
            )
        self.subject = compiled["subject"]
        self.preheader = compiled["preheader"]

    def _slot_for(self, name: str) -> str:
        return f"wsg{self._nonce}{name}q"

    def _number_links(self, body: str) -> tuple[str, list[str]]:
        """Replace each web link by the slot of link N; returns the body and the link
        sources in order (the same URL twice is one link)."""
        sources: list[str] = []

        def number(match):
            url = html.unescape(match.group(3)).strip()
            if not url.lower().startswith(TRACKABLE) and not url.startswith("{{"):
                return match.group(0)
            if url not in sources:
                sources.append(url)
            return f'{match.group(1)}"{self._slot_for(f"link{sources.index(url)}")}"'

        return HREF.sub(number, body), sources

    def render(self, contact, delivery=None) -> Rendered:
        """What ``contact`` receives. With a (saved or about to be saved) ``delivery`` its
        links go through the click redirect and it carries the open pixel; without one
        (a preview) links stay as they are."""
        values = merge_context(contact)
        plain = Context(values, autoescape=False)
        subject = _plain(self.subject.render(plain))
        preheader = _plain(self.preheader.render(plain))
        links = []
        for link in self.links:
            url = link if isinstance(link, str) else link.render(plain).strip()
            links.append(url if url.lower().startswith(TRACKABLE) else "")
        urls = self.urls
        if delivery is not None:
            click = [urls.click(delivery, i) if url else "#" for i, url in enumerate(links)]
            unsubscribe = urls.unsubscribe(delivery)
            pixel = format_html('<img src="{}" width="1" height="1" alt="" style="display:block;border:0">',
                                urls.open_pixel(delivery))
        else:
            click, unsubscribe, pixel = [url or "#" for url in links], "#", ""
        slots = {
            "preheader": preheader, "unsubscribe": unsubscribe, "pixel": pixel,
            "preferences": urls.preferences(contact) if contact.pk else "#",
            **{f"link{i}": url for i, url in enumerate(click)},
        }
        # The template holds the merge fields only; the slots are filled in after it, as the
        # template would (escaped in the HTML unless already safe, as they are in the text).
        html_part = self._slot.sub(lambda m: _escaped(slots[m.group(1)]),
                                   self.html.render(Context(values, autoescape=True)))
        text_part = plain_text(self._slot.sub(lambda m: slots[m.group(1)],
                                              self.text.render(Context(values, autoescape=False))))
        return Rendered(subject, preheader, html_part, text_part, links,
                        unsubscribe if delivery is not None else "")


def _escaped(value: str) -> str:
    """``conditional_escape`` for a slot's value (a str), without its check for lazy
    strings, five times a contact."""
    return value if isinstance(value, SafeData) else html.escape(value)


def _inline(layout: str) -> str:
    """The layout with its ``<style>`` rules inlined, its merge fields still in it: once per
    batch, not once per contact (it was a quarter of a contact's rendering). The inliner
    writes the page out again, escaping ``>`` and quotes, so the merge tags are read back
    (``_untangle``); what a contact's values add later is text, escaped by the template,
    and matches no selector the inlining did not already see. The open pixel, filled in
    after, carries its own style."""
    return _untangle(INLINER.inline(layout))


def _html_to_text(source: str) -> str:
    converter = html2text.HTML2Text()
    converter.body_width = 0  # never wrap: a wrapped line could split a merge tag
    converter.ignore_images = True
    converter.unicode_snob = True
    return converter.handle(source)


def prepare(message: EmailMessage, base_url: str | None = None) -> PreparedEmail:
    return PreparedEmail(message, base_url)


def merge_problems(message: EmailMessage) -> list[str]:
    """What is wrong with the message's merge fields, each naming where; empty when fine."""
    try:
        prepared = PreparedEmail(message, base_url="http://localhost")
    except MergeTemplateError as error:
        return [str(error)]
    sample = _SampleContact()
    try:
        prepared.render(sample)
    except Exception as error:  # noqa: BLE001  (a filter that fails only when run)
        return [_("The email “%(message)s” cannot be rendered: %(error)s") % {"message": message, "error": error}]
    return []


class _SampleContact:
    """A contact with nothing filled in: what merge_problems renders with."""

    pk = None
    company_id = None
    first_name = last_name = full_name = email = phone = country = ""
    points = 0
    properties: dict = {}


def preview_as(message: EmailMessage, contact) -> tuple[str, str, str]:
    """(subject, html, text) as ``contact`` would receive it, links untracked."""
    rendered = prepare(message).render(contact)
    return rendered.subject, rendered.html, rendered.text
