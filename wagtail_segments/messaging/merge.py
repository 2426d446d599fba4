"""Merge fields: ``{{ first_name|default:"there" }}`` in a message's text, filled in for one
contact with Django's template language.

Shared by SMS (plain text, nothing escaped) and email (``autoescape=True`` for its HTML).
The engine has no template directories and no loaders, so ``{% include %}`` and
``{% extends %}`` cannot reach the site's files.
"""

from __future__ import annotations

from functools import lru_cache

from django.template import Context, Engine, TemplateDoesNotExist, TemplateSyntaxError
from django.utils.translation import gettext as _

from wagtail_segments.contacts.models import Contact


class MergeFieldError(ValueError):
    """Text whose merge fields cannot be read; the message says where, for the editor."""


@lru_cache(maxsize=2)
def _engine(autoescape: bool) -> Engine:
    return Engine(dirs=[], app_dirs=False, loaders=[], autoescape=autoescape)


def merge_template(template_string: str, autoescape: bool = False):
    """The compiled template of ``template_string`` (cached); raises ``MergeFieldError``."""
    return _compile(template_string, autoescape)


@lru_cache(maxsize=256)
def _compile(template_string: str, autoescape: bool):
    try:
        return _engine(autoescape).from_string(template_string)
    except TemplateSyntaxError as error:
        raise MergeFieldError(_("The merge fields cannot be read: %(error)s") % {"error": error}) from None


def merge_field_problems(template_string: str) -> list[str]:
    """What is wrong with the merge fields of ``template_string``, for the editor; empty when fine."""
    try:
        _compile(template_string or "", False)
    except MergeFieldError as error:
        return [str(error)]
    return []


def plain_text(rendered: str) -> str:
    """``rendered`` as an ordinary string. Django marks whatever a template renders as safe
    HTML, but text rendered without autoescape (SMS, an email's plain-text part) holds a
    contact's values as typed: a page that shows it must escape it, as it does a plain str."""
    return str.__str__(rendered)


def merge_context(contact: Contact) -> dict:
    """What merge fields may name: the contact's own fields, its company, its properties
    (also at the top level, e.g. ``{{ plan }}``, unless a field has that name)."""
    properties = dict(contact.properties or {})
    fields = {
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "full_name": contact.full_name,
        "email": contact.email,
        "phone": contact.phone,
        "country": contact.country,
        "company": contact.company.name if contact.company_id else "",
        "points": contact.points,
        "properties": properties,
    }
    return {**{k: v for k, v in properties.items() if isinstance(k, str)}, **fields}


def render_text(template_string: str, contact: Contact, *, autoescape: bool = False, extra: dict | None = None) -> str:
    """``template_string`` with its merge fields filled in for ``contact``.

    ``autoescape`` is off for SMS and plain text, on for HTML. ``extra`` adds values (such as
    links) that win over the contact's. Raises ``MergeFieldError`` for a broken template.
    """
    template = _compile(template_string or "", autoescape)
    try:
        rendered = template.render(Context({**merge_context(contact), **(extra or {})}, autoescape=autoescape))
        return rendered if autoescape else plain_text(rendered)
    except (TemplateSyntaxError, TemplateDoesNotExist, TypeError, ValueError, AttributeError) as error:
        # an {% include %} (nothing to include from) or a filter given what it cannot use
        raise MergeFieldError(_("The merge fields cannot be filled in: %(error)s") % {"error": error}) from None
