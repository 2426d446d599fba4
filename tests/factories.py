"""Small factories for the tests: pages of the example site, contacts and events."""

from __future__ import annotations

import itertools

from django.conf import settings
from wagtail.coreutils import get_supported_content_language_variant
from wagtail.models import Collection, Locale, Page, Site

from example_site.pages.models import ContentPage, FormField, FormPage, HomePage, SectionPage
from wagtail_segments.models import Contact, Event

_counter = itertools.count(1)


def wagtail_tree() -> Page:
    """Wagtail's root page, putting back what its migrations create (default locale, root
    page, root collection) when a transactional test's flush removed it."""
    Locale.objects.get_or_create(
        language_code=get_supported_content_language_variant(settings.LANGUAGE_CODE)
    )
    if Collection.get_first_root_node() is None:
        Collection.add_root(name="Root")
    root = Page.get_first_root_node()
    if root is None:
        root = Page.add_root(instance=Page(title="Root", slug="root"))
    return root


def home_page() -> HomePage:
    """The site's home page, created once per test database."""
    existing = HomePage.objects.first()
    if existing:
        return existing
    root = wagtail_tree()
    home = root.add_child(instance=HomePage(title="Home", slug="home-test"))
    site = Site.objects.filter(is_default_site=True).first()
    if site is None:
        Site.objects.create(hostname="localhost", root_page=home, is_default_site=True)
    else:
        site.root_page = home
        site.save()
    return home


def section_page(title: str = "Products", parent=None) -> SectionPage:
    parent = parent or home_page()
    return parent.add_child(instance=SectionPage(title=title, slug=f"{title.lower()}-{next(_counter)}"))


def content_page(title: str = "Pricing", parent=None) -> ContentPage:
    parent = parent or home_page()
    return parent.add_child(
        instance=ContentPage(title=title, slug=f"{title.lower()}-{next(_counter)}", body="<p>Body</p>")
    )


def form_page(title: str = "Contact us", fields=None, parent=None, **kwargs) -> FormPage:
    """A form page with the given (label, field_type) fields; by default name, email, message."""
    parent = parent or home_page()
    page = parent.add_child(
        instance=FormPage(title=title, slug=f"form-{next(_counter)}", **kwargs)
    )
    fields = fields or [
        ("First name", "singleline"),
        ("Last name", "singleline"),
        ("Email", "email"),
        ("Company", "singleline"),
        ("Message", "multiline"),
    ]
    for order, (label, field_type) in enumerate(fields):
        FormField.objects.create(
            page=page, label=label, field_type=field_type, required=False, sort_order=order,
            choices="a\nb\nc" if field_type in ("checkboxes", "dropdown", "radio") else "",
        )
    return page


def contact(**fields) -> Contact:
    return Contact.objects.create(**fields)


def event(contact: Contact, kind: str = "page_view", **fields) -> Event:
    return Event.objects.create(contact=contact, kind=kind, **fields)
