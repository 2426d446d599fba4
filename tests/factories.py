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


def campaign(status: str = "active", **fields):
    """A campaign, active unless told; its steps come from ``step`` / ``chain``."""
    from wagtail_segments.campaigns.models import Campaign

    n = next(_counter)
    return Campaign.objects.create(name=fields.pop("name", f"Campaign {n}"), status=status, **fields)


def step(campaign, kind: str = "action", /, *, parent=None, branch: str = "next", name: str = "", **config):
    from wagtail_segments.campaigns.models import Step

    return Step.objects.create(campaign=campaign, kind=kind, parent=parent, branch=branch, name=name, config=config)


def chain(campaign, *steps: tuple[str, dict]) -> list:
    """Steps one after the other on their "next" branches: ``("wait", {"days": 1})``, …"""
    made, parent = [], None
    for kind, config in steps:
        parent = step(campaign, kind, parent=parent, **config)
        made.append(parent)
    return made


def run(campaign, contact, **fields):
    """A live run standing on the campaign's first step, due now unless told."""
    from django.utils import timezone

    from wagtail_segments.campaigns.models import Run

    fields.setdefault("step", campaign.first_step())
    fields.setdefault("next_due_at", timezone.now())
    return Run.objects.create(campaign=campaign, contact=contact, **fields)


def sms_message(body: str = "Hi {{ first_name|default:\"there\" }}, see you soon.", **fields):
    from wagtail_segments.messaging.models import SmsMessage

    return SmsMessage.objects.create(name=fields.pop("name", f"SMS {next(_counter)}"), body=body, **fields)


def staff_user(username: str | None = None, **fields):
    """A user of the admin (not a contact), with an email unless told."""
    from django.contrib.auth import get_user_model

    username = username or f"staff{next(_counter)}"
    fields.setdefault("email", f"{username}@example.com")
    return get_user_model().objects.create_user(username=username, **fields)


def email_message(body: str = "<p>Hello {{ first_name|default:\"there\" }}</p>", *, buttons=(), **fields):
    """An email message whose body is one rich text block of ``body`` (HTML) and then
    ``buttons`` as (text, url) pairs."""
    from wagtail.rich_text import RichText

    from wagtail_segments.messaging.models import EmailMessage

    n = next(_counter)
    blocks = [("text", RichText(body))] + [("button", {"text": t, "url": u}) for t, u in buttons]
    fields.setdefault("name", f"Email {n}")
    fields.setdefault("subject", "News for {{ first_name|default:\"you\" }}")
    return EmailMessage.objects.create(body=blocks, **fields)
