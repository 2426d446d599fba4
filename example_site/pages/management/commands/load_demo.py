"""``manage.py load_demo``: the example site's pages, an ``admin`` login and a few hundred
demo contacts with believable histories (page views, time on page, custom events, UTM
campaign visits, form submissions, tags, points, companies), and the segments a small
organisation starts with: Leads, Subscribers, Customers, Donors, Attendees and Members; and
where three of its forms send their answers (Marketing → Form mappings).

Running it again changes nothing: pages are found by slug, the admin user by username,
segments by slug and form mappings by page (an editor's changes to them are kept), and demo contacts are not loaded
twice (``--reset`` deletes them and loads them afresh). The dynamic segments are rebuilt on
each run; the static one (Donors) gets its members only while it has none.

Demo contacts are recognised by the last 12 hex digits of their uuid (``DEMO_UUID_TAIL``), so
that ``--reset`` finds them without a marker an editor would see among their fields.
Everything random comes from one ``random.Random(seed)``: the same seed gives the same data
(relative to the time it is loaded).

Contacts, events, tags and form submissions are written with ``bulk_create``: that is fast
and sends no ``post_save``, so wagtail_segments' form hook does not record the submissions a
second time; the matching ``form_submission`` events are written here, shaped as the hook
shapes them.
"""

from __future__ import annotations

import datetime
import random
import uuid
from collections import Counter
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from wagtail.contrib.forms.models import FormSubmission
from wagtail.models import Page, Site

from example_site.pages.demo_campaigns import build_campaigns
from example_site.pages.models import ContentPage, FormField, FormPage, HomePage, SectionPage
from wagtail_segments.contacts.phone import phone_e164
from wagtail_segments.models import (
    Company,
    Contact,
    ContactTag,
    Event,
    FormMapping,
    PropertyDefinition,
    Segment,
    TaggedContact,
)
from wagtail_segments.segments.evaluation import rebuild_segment
from wagtail_segments.segments.manual import add_contacts

DEMO_UUID_TAIL = "de30de30de30"
DEFAULT_SEED = 2026
HISTORY_DAYS = 180
SPRING_SALE_DAYS_AGO = 24  # when the "spring-sale" newsletter went out

# --------------------------------------------------------------------------- pages


def p(*paragraphs: str) -> str:
    return "".join(f"<p>{text}</p>" for text in paragraphs)


BLOG_POSTS = [
    (
        "five-ways-to-cut-meeting-time",
        "Five ways to cut meeting time in half",
        "Shorter defaults, agendas up front and owners at the end: what our busiest customers "
        "changed first.",
        p(
            "Most teams do not have too many meetings; they have meetings that run long. "
            "Here is what our busiest customers changed first.",
            "<b>1. Default to 25 minutes.</b> A shorter default leaves room to breathe.",
            "<b>2. Share the agenda when you book.</b> Example Co. adds it to every invitation.",
            "<b>3. End with owners, not minutes.</b> Who does what by when, in three lines.",
            "<b>4. Cancel recurring meetings that lost their reason.</b> Review them quarterly.",
            "<b>5. Protect focus time.</b> Block two mornings a week and keep them free.",
        ),
    ),
    (
        "northwind-case-study",
        "How Northwind Logistics schedules 2,000 shifts a week",
        "Six warehouses, two countries and one spreadsheet nobody else understood: a case study.",
        p(
            "Northwind Logistics runs six warehouses across the UK and the Netherlands. Before "
            "Example Co., shift planning lived in a spreadsheet that one person understood.",
            "Today team leads publish rotas on Thursday, drivers swap shifts from their phones, "
            "and payroll reads hours straight from the schedule. Planning time fell from two "
            "days a week to three hours.",
        ),
    ),
    (
        "spring-2026-release",
        "What's new this spring",
        "Round-robin booking pages, Microsoft Teams and a faster mobile calendar.",
        p(
            "The spring release brings round-robin booking pages, a Microsoft Teams integration "
            "and a faster calendar view on mobile.",
            "Round-robin pages share incoming demos and interviews fairly across a team, and "
            "skip whoever is on holiday. All plans get them from today.",
        ),
    ),
    (
        "remote-teams-time-zones",
        "Remote teams and time zones: a practical guide",
        "Core hours per team, local times on every invitation and a fair rota for the late call.",
        p(
            "When your team spans London, Toronto and Berlin, the overlap is a few hours a day. "
            "Spend it on conversations and move status updates to writing.",
            "Set core hours per team rather than per company, show every invitee's local time "
            "when booking, and rotate the inconvenient slot so the same people do not always "
            "take the late call.",
        ),
    ),
]

PRODUCT_PAGES = [
    (
        "pricing",
        "Pricing",
        "Free for up to 3 people; Team and Business plans per person per month.",
        p(
            "<b>Starter</b> — free for up to 3 people: booking pages, calendar sync, reminders.",
            "<b>Team</b> — £12 per person per month: shared availability, round-robin and "
            "integrations.",
            "<b>Business</b> — £29 per person per month: SSO, audit log, priority support and an "
            "account manager.",
            "Every plan starts with a 14-day trial. Paying yearly saves two months.",
        ),
    ),
    (
        "features",
        "Features",
        "Booking pages, team calendars, shift rotas, reminders and reports.",
        p(
            "Booking pages that show only the times that suit you, shared team calendars, shift "
            "rotas, reminders by email and SMS, and reports on where the week went.",
            "Everything works on the web and on our iOS and Android apps.",
        ),
    ),
    (
        "integrations",
        "Integrations",
        "Google Calendar, Outlook, Teams, Zoom, Slack, Salesforce, HubSpot and Zapier.",
        p(
            "Example Co. connects to Google Calendar, Outlook, Microsoft Teams, Zoom, Slack, "
            "Salesforce, HubSpot and, through Zapier, to some 5,000 other tools.",
        ),
    ),
]

CONTACT_FIELDS = [
    ("First name", "singleline", True, ""),
    ("Last name", "singleline", True, ""),
    ("Email", "email", True, ""),
    ("Company", "singleline", False, ""),
    ("Message", "multiline", True, ""),
]
NEWSLETTER_TOPICS = ["Product news", "Tips and guides", "Events and webinars"]
NEWSLETTER_FIELDS = [
    ("Email", "email", True, ""),
    ("First name", "singleline", False, ""),
    ("Topics", "checkboxes", False, "\n".join(NEWSLETTER_TOPICS)),
    ("Date of birth", "date", False, ""),
]
RENEW_FIELDS = [
    ("Email", "email", True, ""),
    ("Plan", "dropdown", True, "Team\nBusiness\nEnterprise"),
]
DEMO_FIELDS = [
    ("Email", "email", True, ""),
    ("Company", "singleline", True, ""),
    ("Team size", "number", True, ""),
]


def rich_text(html: str) -> dict:
    return {"type": "text", "value": html}


def list_item(value: dict) -> dict:
    return {"type": "item", "value": value, "id": str(uuid.uuid4())}


# The Pricing page's personalised block (raw StreamField JSON): customers and leads each see
# their own call to action, everyone else the trial offer. Segments are named by slug.
PRICING_PERSONALISED = [
    {
        "type": "personalised",
        "value": {
            "variants": [
                list_item({
                    "segments": ["customers"],
                    "content": [rich_text(p(
                        "<b>You are already a customer — thank you.</b> Add seats or move to "
                        "Business from your account's billing page; the price of the seats you "
                        "add is prorated to the day.",
                    ))],
                }),
                list_item({
                    "segments": ["leads"],
                    "content": [rich_text(p(
                        "<b>Still comparing plans?</b> <a href=\"/products/demo/\">Book a "
                        "30-minute demo</a>: we set Example Co. up with your own team's "
                        "calendar, and your trial starts with everything in place.",
                    ))],
                }),
            ],
            "fallback": [rich_text(p(
                "<b>Try it free for 14 days.</b> No card needed; questions about plans? "
                "<a href=\"/contact/\">Write to us</a>.",
            ))],
        },
    },
]


def form_fields(specs) -> list[FormField]:
    return [
        FormField(sort_order=i, label=label, field_type=kind, required=required, choices=choices)
        for i, (label, kind, required, choices) in enumerate(specs)
    ]


def ensure_child(parent: Page, model, *, slug: str, title: str, **fields):
    """The live child of ``parent`` with ``slug``, created and published if missing."""
    existing = parent.get_children().filter(slug=slug).first()
    if existing is not None:
        return existing.specific, False
    page = model(title=title, slug=slug, **fields)
    parent.add_child(instance=page)
    page.save_revision().publish()
    return page, True


def ensure_home() -> tuple[HomePage, Site, int]:
    """The HomePage at the top of the default site, replacing Wagtail's "Welcome" page."""
    created = 0
    root = Page.get_first_root_node()
    site = Site.objects.filter(is_default_site=True).select_related("root_page").first()
    home = None
    if site is not None and site.root_page.specific_class is HomePage:
        home = site.root_page.specific
    if home is None:
        home = HomePage.objects.child_of(root).first()
    if home is None:
        taken = root.get_children().filter(slug="home").exists()
        home = HomePage(
            title="Example Co.",
            slug="example-co" if taken else "home",
            intro=p(
                "Example Co. makes scheduling software for busy teams: booking pages, shared "
                "calendars and shift rotas.",
                "This is the example site of <b>wagtail-segments</b>. Every visit is recorded as "
                "an event of a contact; submit a form and the contact gets a name. Editors see "
                "contacts, segments and campaigns in the admin.",
            ),
        )
        root.add_child(instance=home)
        home.save_revision().publish()
        created += 1
    if site is None:
        site = Site.objects.create(
            hostname="localhost", port=80, root_page=home, is_default_site=True,
            site_name="Example Co.",
        )
    elif site.root_page_id != home.pk:
        old_root = site.root_page
        site.root_page = home
        site.site_name = site.site_name or "Example Co."
        site.save()
        # Wagtail's "Welcome to your new Wagtail site!": a plain Page with nothing under it.
        if (
            old_root.depth == 2
            and old_root.content_type.model_class() is Page
            and not old_root.get_children().exists()
            and not Site.objects.filter(root_page=old_root).exists()
        ):
            old_root.delete()
    if home.slug != "home" and not root.get_children().filter(slug="home").exists():
        home.slug = "home"
        home.save_revision().publish()
        home = HomePage.objects.get(pk=home.pk)  # publishing saved a copy: re-read url_path
    return home, site, created


def build_pages() -> tuple[dict[str, Page], Site, int]:
    """Every page of the site by key, the site, and how many pages were created."""
    home, site, created = ensure_home()
    pages: dict[str, Page] = {"home": home}

    def child(key, parent, model, **kwargs):
        nonlocal created
        page, was_created = ensure_child(parent, model, **kwargs)
        created += was_created
        pages[key] = page
        return page

    products = child(
        "products", home, SectionPage, slug="products", title="Products",
        intro=p("One app for booking, team calendars and shift rotas."),
    )
    for slug, title, summary, body in PRODUCT_PAGES:
        extra = {"personalised": PRICING_PERSONALISED} if slug == "pricing" else {}
        child(slug, products, ContentPage, slug=slug, title=title, search_description=summary,
              body=body, **extra)
    pricing = pages["pricing"]
    if not pricing.personalised:  # a site loaded before pages had personalised content
        pricing.personalised = PRICING_PERSONALISED
        pricing.save_revision().publish()
        pages["pricing"] = ContentPage.objects.get(pk=pricing.pk)
    child(
        "demo", products, FormPage, slug="demo", title="Book a demo",
        search_description="A 30-minute tour of Example Co. for your team.",
        intro=p("Tell us about your team and we will show you Example Co. in 30 minutes."),
        thank_you_text=p("Thanks! Someone from our team will email you within one working day."),
        form_fields=form_fields(DEMO_FIELDS),
    )
    blog = child(
        "blog", home, SectionPage, slug="blog", title="Blog",
        intro=p("Notes on scheduling, remote work and what we are building."),
    )
    for slug, title, summary, body in BLOG_POSTS:
        child(slug, blog, ContentPage, slug=slug, title=title, search_description=summary,
              body=body)
    child(
        "contact", home, FormPage, slug="contact", title="Contact us",
        intro=p("Questions about plans, billing or anything else? Write to us."),
        thank_you_text=p("Thank you for your message. We answer within one working day."),
        form_fields=form_fields(CONTACT_FIELDS),
    )
    child(
        "newsletter", home, FormPage, slug="newsletter", title="Newsletter",
        intro=p("One email a month: product news, tips and invitations to our webinars."),
        thank_you_text=p("You are subscribed. Look out for our next issue."),
        form_fields=form_fields(NEWSLETTER_FIELDS),
    )
    child(
        "renew", home, FormPage, slug="renew", title="Renew your subscription",
        intro=p("Keep your plan, or change it for the next year."),
        thank_you_text=p("Thank you: your renewal is on its way."),
        form_fields=form_fields(RENEW_FIELDS),
    )
    return pages, site, created


def ensure_admin() -> bool:
    User = get_user_model()
    user = User.objects.filter(username="admin").first()
    if user is not None:
        if not (user.is_superuser and user.is_staff and user.is_active):
            user.is_superuser = user.is_staff = user.is_active = True
            user.save(update_fields=["is_superuser", "is_staff", "is_active"])
        return False
    User.objects.create_superuser("admin", "admin@example.com", "admin")
    return True


# --------------------------------------------------------------------------- people

FIRST_NAMES = [
    "Olivia", "Amelia", "Isla", "Ava", "Mia", "Sophie", "Grace", "Emily", "Hannah", "Chloe",
    "Priya", "Aisha", "Lena", "Marie", "Sanne", "Camille", "Julia", "Sarah", "Emma", "Zoe",
    "Oliver", "George", "Harry", "Noah", "Jack", "Leo", "Arthur", "Oscar", "James", "Thomas",
    "Lukas", "Jonas", "Daan", "Lucas", "Hugo", "Mohammed", "Ravi", "Daniel", "Michael", "Ethan",
]
LAST_NAMES = [
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel",
    "Wright", "Walker", "Evans", "Thompson", "Clarke", "Hughes", "Khan", "Murphy", "O'Brien",
    "Müller", "Schmidt", "Fischer", "Weber", "de Vries", "Jansen", "Bakker", "Martin",
    "Bernard", "Dubois", "Garcia", "Miller", "Anderson", "Nguyen", "Tremblay", "Roy", "Singh",
]
# (name, domain, industry, employees). Domains under the reserved ".example" TLD: nobody
# gets an email if a campaign is ever pointed at the demo data with a real mail server.
COMPANIES = [
    ("Northwind Logistics", "northwind.example", "Logistics", 1200),
    ("Brightside Dental", "brightside-dental.example", "Healthcare", 85),
    ("Harbour & Finch", "harbourfinch.example", "Legal", 140),
    ("Kestrel Robotics", "kestrel-robotics.example", "Manufacturing", 430),
    ("Maple Leaf Clinics", "mapleleafclinics.example", "Healthcare", 260),
    ("Blauwe Fiets", "blauwefiets.example", "Retail", 60),
    ("Lumière Studio", "lumiere-studio.example", "Media", 25),
    ("Tannenberg Software", "tannenberg.example", "Software", 310),
    ("Greenline Energy", "greenline.example", "Energy", 900),
    ("Copperpot Restaurants", "copperpot.example", "Hospitality", 520),
    ("Atlas Property Group", "atlasproperty.example", "Real estate", 75),
    ("Fernhill School Trust", "fernhill.example", "Education", 340),
]
PERSONAL_DOMAINS = ["mail.example", "example.com", "example.org", "example.net"]
COUNTRIES = {"GB": 32, "US": 22, "DE": 10, "CA": 8, "FR": 8, "NL": 8, "IE": 4, "ES": 4, "AU": 4}
DEVICES = {"desktop": 60, "mobile": 32, "tablet": 8}
# Where sessions come from: (referrer, utm). Direct visits have neither.
SOURCES = [
    (40, "", {}),
    (25, "https://www.google.com/", {}),
    (6, "https://www.google.com/",
     {"utm_source": "google", "utm_medium": "cpc", "utm_campaign": "brand-search"}),
    (8, "https://duckduckgo.com/", {}),
    (8, "https://www.linkedin.com/", {}),
    (4, "https://www.linkedin.com/",
     {"utm_source": "linkedin", "utm_medium": "social", "utm_campaign": "webinar-2026"}),
    (5, "https://news.ycombinator.com/", {}),
    (4, "https://www.capterra.com/", {}),
]
INTERNAL = (0, "", {})  # a view that follows another in the same visit
SPRING_SALE = {"utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "spring-sale"}
# How often a session starts on each page, and how often later views go to each page.
LANDING = {
    "home": 40, "pricing": 14, "five-ways-to-cut-meeting-time": 12, "features": 8,
    "remote-teams-time-zones": 6, "northwind-case-study": 4, "integrations": 3,
    "spring-2026-release": 3, "blog": 3, "products": 4, "newsletter": 2, "contact": 1,
}
BROWSING = {
    "pricing": 26, "features": 16, "home": 12, "products": 10, "integrations": 6, "blog": 6,
    "demo": 5, "contact": 4, "northwind-case-study": 4, "five-ways-to-cut-meeting-time": 3,
    "spring-2026-release": 3, "newsletter": 3, "remote-teams-time-zones": 2,
}
MESSAGES = [
    "Do you offer discounts for charities?",
    "Can we pay yearly by invoice rather than card?",
    "We are moving from another scheduling tool. Can you help import our bookings?",
    "Is there an on-premises version, or is everything hosted in the EU?",
    "How does the Salesforce integration handle existing contacts?",
    "We need SSO with Azure AD. Which plan includes it?",
    "Could you send me a copy of your data processing agreement?",
    "Our team works rotating shifts. Can staff swap shifts without a manager?",
]


def weighted(rng: random.Random, weights: dict):
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def seconds_later(seconds: float) -> datetime.timedelta:
    return datetime.timedelta(seconds=seconds)


def demo_uuid(rng: random.Random) -> uuid.UUID:
    """A version-4 uuid whose last 12 hex digits are DEMO_UUID_TAIL."""
    return uuid.UUID(int=(rng.getrandbits(80) << 48) | int(DEMO_UUID_TAIL, 16), version=4)


class DemoBuilder:
    """Builds the rows in memory, then writes them with a handful of bulk inserts."""

    def __init__(self, rng: random.Random, pages: dict[str, Page], site: Site, now):
        self.rng = rng
        self.pages = pages
        self.site = site
        self.now = now
        self.paths = {key: page.get_url_parts()[2] for key, page in pages.items()}
        self.events: list[tuple[int, Event]] = []  # (contact index, unsaved event)
        self.submissions: list[tuple[int, Event, FormSubmission]] = []
        self.tags: dict[int, set[str]] = {}
        self.devices: dict[int, str] = {}  # each contact mostly uses one device

    # -- people

    def unique_email(self, first: str, last: str, domain: str, taken: set[str]) -> str:
        local = f"{first}.{last}".lower().replace("'", "").replace(" ", "")
        local = local.replace("ü", "ue").replace("è", "e").replace("é", "e")
        email, n = f"{local}@{domain}", 1
        while email in taken:
            n += 1
            email = f"{local}{n}@{domain}"
        taken.add(email)
        return email

    def phone(self, country: str) -> str:
        if country in ("US", "CA"):
            return f"+1 202 555 01{self.rng.randrange(100):02d}"  # 555-01xx: fictional
        # ACMA's range for fiction: valid mobiles to phonenumbers (so the demo's texts are sent
        # to the console), never anyone's. Ofcom's drama range is refused as not valid.
        return f"+61 491 570 {6 + self.rng.randrange(1000) % 154:03d}"  # the same draws as before

    def make_contacts(self, count: int, companies: list[Company]) -> list[Contact]:
        rng = self.rng
        taken = set(Contact.objects.exclude(email_key=None).values_list("email_key", flat=True))
        contacts = []
        for i in range(count):
            country = weighted(rng, COUNTRIES)
            first_seen = self.now - datetime.timedelta(days=rng.uniform(0.5, HISTORY_DAYS))
            contact = Contact(
                uuid=demo_uuid(rng),
                country=country,
                first_seen=first_seen,
                last_seen=first_seen,
                properties={},
            )
            if rng.random() < 0.4:
                contact.first_name = rng.choice(FIRST_NAMES)
                contact.last_name = rng.choice(LAST_NAMES)
                company = rng.choice(companies) if rng.random() < 0.55 else None
                domain = company.domain if company else rng.choice(PERSONAL_DOMAINS)
                contact.email = self.unique_email(
                    contact.first_name, contact.last_name, domain, taken
                )
                contact.email_key = contact.email.casefold()
                contact.company = company
                if rng.random() < (0.5 if company else 0.15):
                    contact.phone = self.phone(country)
                    contact.phone_e164 = phone_e164(contact.phone)  # bulk_create skips save()
            contacts.append(contact)
        return contacts

    # -- events

    def event(self, index: int, contact: Contact, kind: str, when, page_key: str | None = None,
              *, device: str, referrer: str = "", utm: dict | None = None, data=None) -> Event:
        path = self.paths.get(page_key, "") if page_key else ""
        if utm and kind == "page_view":
            path = f"{path}?{urlencode(utm)}"
        event = Event(
            kind=kind, time=when, site=self.site, page=self.pages[page_key] if page_key else None,
            path=path, referrer=referrer, device=device, country=contact.country,
            data=data or {}, **(utm or {}),
        )
        self.events.append((index, event))
        return event

    def session(self, index: int, contact: Contact, start, device: str, *, landing: str,
                source=None, views: int | None = None, end_on: str | None = None):
        """A visit: a landing page, a few more pages, time on page and the odd custom event.
        Returns the time the visit ended."""
        rng = self.rng
        _, referrer, utm = source or rng.choices(SOURCES, weights=[s[0] for s in SOURCES])[0]
        views = views or min(1 + int(rng.expovariate(0.6)), 9)
        route = [landing] + [weighted(rng, BROWSING) for _ in range(views - 1)]
        if end_on:
            route.append(end_on)
        when = start
        for n, key in enumerate(route):
            first = n == 0
            self.event(index, contact, "page_view", when, key, device=device,
                       referrer=referrer if first else "", utm=utm if first else None)
            seconds = round(rng.lognormvariate(3.6, 0.9), 1)  # median ~37 s
            seconds = min(seconds, 900.0)
            custom = None
            if key == "pricing" and rng.random() < 0.2:
                custom = {"name": "pricing_calculator", "data": {
                    "plan": rng.choice(["starter", "team", "team", "business"]),
                    "seats": rng.choice([3, 5, 10, 25, 50, 120]),
                }}
            elif key == "features" and rng.random() < 0.15:
                custom = {"name": "video_play", "data": {"video": "product-tour"}}
            if custom:
                self.event(index, contact, "custom", when + seconds_later(seconds / 2), key,
                           device=device, data=custom)
            if rng.random() < 0.4 and key != end_on:
                self.event(index, contact, "time_on_page", when + seconds_later(seconds), key,
                           device=device, data={"seconds": seconds})
            when += datetime.timedelta(seconds=seconds + rng.uniform(2, 15))
        return when

    def submit(self, index: int, contact: Contact, when, form_key: str, answers: dict):
        page = self.pages[form_key]
        event = self.event(index, contact, "form_submission", when, form_key,
                           device=self.devices[index], data=None)
        event.data = {
            "form_page": page.pk,
            "form_title": page.title,
            "submission": None,  # filled in once the submission has its id
            "email": contact.email_key,
            "answers": answers,
        }
        submission = FormSubmission(page=page, form_data=answers)
        self.submissions.append((index, event, submission))

    def history(self, index: int, contact: Contact) -> None:
        rng = self.rng
        device = self.devices[index] = weighted(rng, DEVICES)
        # Visits start at least 3 hours ago, so that the longest one ends before now.
        span = max((self.now - contact.first_seen).total_seconds() - 3 * 3600, 0)
        # A few contacts are very active, most come once or twice.
        if rng.random() < 0.04:
            visits = rng.randint(25, 60)
        else:
            visits = min(int(rng.paretovariate(1.4)), 20)
        if contact.email:
            visits += 1
        starts = sorted(
            [contact.first_seen]
            + [contact.first_seen + seconds_later(rng.uniform(0, span)) for _ in range(visits - 1)]
        )
        # Identified contacts became known by a form; most of them also filled in others.
        forms = []
        if contact.email:
            tags = self.tags.setdefault(index, set())
            imported = rng.random() < 0.12  # badge scans from a trade show, no form
            if imported:
                tags.add("event-2026")
            if not imported or rng.random() < 0.3:
                # Only people with a company book demos (the form asks for one).
                shares = {
                    "newsletter": 0.55, "contact": 0.3, "demo": 0.3 if contact.company_id else 0,
                }
                forms = [key for key, share in shares.items() if rng.random() < share]
                forms = forms or [rng.choice(["newsletter", "contact"])]
        form_at = {key: rng.randrange(len(starts)) for key in forms}
        for n, start in enumerate(starts):
            todo = [key for key, at in form_at.items() if at == n]
            landing = weighted(rng, LANDING)
            when = self.session(index, contact, start, device, landing=landing,
                                end_on=todo[0] if todo else None)
            for k, key in enumerate(todo):
                if k:  # a second form in the same visit
                    when = self.session(index, contact, when, device, landing=key,
                                        source=INTERNAL, views=1)
                self.submit(index, contact, when, key, self.answers(contact, key))
        if "newsletter" in forms:
            self.tags[index].add("newsletter")
            sent = self.now - datetime.timedelta(days=SPRING_SALE_DAYS_AGO)
            if contact.first_seen < sent and rng.random() < 0.45:
                click = sent + datetime.timedelta(hours=rng.expovariate(1 / 20))
                landing = rng.choice(["pricing", "pricing", "spring-2026-release"])
                self.session(index, contact, click, device, landing=landing,
                             source=(0, "", SPRING_SALE), views=rng.randint(1, 4))

    def answers(self, contact: Contact, form_key: str) -> dict:
        rng = self.rng
        if form_key == "newsletter":
            topics = [t for t in NEWSLETTER_TOPICS if rng.random() < 0.5] or [NEWSLETTER_TOPICS[0]]
            # As the form hook stores answers: unmapped ones become properties, lists joined.
            contact.properties["topics"] = ", ".join(topics)
            answers = {"email": contact.email, "first_name": contact.first_name, "topics": topics}
            if rng.random() < 0.5:  # a declared date property (the "Turns 18" campaign reads it)
                born = datetime.date(rng.randint(1960, 2008), rng.randint(1, 12), rng.randint(1, 28))
                contact.properties["date_of_birth"] = answers["date_of_birth"] = born.isoformat()
            return answers
        company = contact.company.name if contact.company else ""
        if form_key == "contact":
            message = rng.choice(MESSAGES)  # not on the contact: the demo's form mapping ignores it
            return {
                "first_name": contact.first_name, "last_name": contact.last_name,
                "email": contact.email, "company": company, "message": message,
            }
        employees = contact.company.properties.get("employees", 10)
        size = max(2, min(employees, rng.choice([5, 10, 20, 50, 100, 250])))
        contact.properties["team_size"] = size
        # Wagtail's number field gives a Decimal, which the submission's JSON keeps as a string.
        return {"email": contact.email, "company": company, "team_size": str(size)}

    # -- writing

    def build(self, count: int) -> dict:
        companies = []
        for name, domain, industry, employees in COMPANIES:
            company, _ = Company.objects.get_or_create(name=name, defaults={
                "domain": domain,
                "properties": {"industry": industry, "employees": employees},
            })
            companies.append(company)
        PropertyDefinition.objects.get_or_create(
            key="team_size", defaults={"label": "Team size", "type": "number",
                                       "description": "From the “Book a demo” form."},
        )
        PropertyDefinition.objects.get_or_create(
            key="date_of_birth", defaults={"label": "Date of birth", "type": "date",
                                           "description": "From the newsletter form."},
        )
        contacts = self.make_contacts(count, companies)
        for index, contact in enumerate(contacts):
            self.history(index, contact)

        # Last seen and points follow from the history; the keenest known contacts are VIPs.
        kinds = Counter((index, event.kind) for index, event in self.events)
        demo_page = self.pages["demo"].pk
        demos = Counter(index for index, event, _ in self.submissions if event.page_id == demo_page)
        for index, event in self.events:
            if event.time > contacts[index].last_seen:
                contacts[index].last_seen = event.time
        for index, contact in enumerate(contacts):
            contact.points = (
                min(kinds[index, "page_view"], 60) + 5 * kinds[index, "custom"]
                + 10 * kinds[index, "form_submission"] + 15 * demos[index]
            )
        known = [i for i, c in enumerate(contacts) if c.email]
        for index in sorted(known, key=lambda i: -contacts[i].points)[: max(1, len(known) // 15)]:
            self.tags.setdefault(index, set()).add("vip")
        for index in known:
            contact = contacts[index]
            if contact.company_id and self.rng.random() < 0.12:
                self.tags.setdefault(index, set()).add("partner")
            elif contact.company_id and self.rng.random() < 0.15:
                self.tags.setdefault(index, set()).add("customer")
        # Members of the user community; drawn after everything else, so that adding them
        # left the rest of the data of a seed as it was.
        for index in known:
            if self.rng.random() < 0.1:
                self.tags.setdefault(index, set()).add("member")
        return self.write(contacts)

    def write(self, contacts: list[Contact]) -> dict:
        Contact.objects.bulk_create(contacts, batch_size=500)
        submissions = [submission for _, _, submission in self.submissions]
        FormSubmission.objects.bulk_create(submissions, batch_size=500)
        # submit_time is auto_now_add, which bulk_create sets to now: put the real times back.
        for (_, event, submission) in self.submissions:
            submission.submit_time = event.time
            event.data["submission"] = f"{submission._meta.label_lower}:{submission.pk}"
        FormSubmission.objects.bulk_update(submissions, ["submit_time"], batch_size=500)
        events = []
        for index, event in sorted(self.events, key=lambda pair: pair[1].time):
            event.contact = contacts[index]
            events.append(event)
        Event.objects.bulk_create(events, batch_size=1000)
        names = sorted({name for tags in self.tags.values() for name in tags})
        tags = {}
        for name in names:
            tags[name] = (
                ContactTag.objects.filter(name=name).first() or ContactTag.objects.create(name=name)
            )
        TaggedContact.objects.bulk_create(
            [
                TaggedContact(content_object=contacts[index], tag=tags[name])
                for index, names_ in sorted(self.tags.items()) for name in sorted(names_)
            ],
            batch_size=1000,
        )
        return {
            "contacts": len(contacts),
            "identified": sum(1 for c in contacts if c.email),
            "events": len(events),
            "submissions": len(submissions),
        }


# --------------------------------------------------------------------------- segments


def status(value: str, negate: bool = False) -> dict:
    return {"type": "status", "value": {"status": value, "negate": negate}}


def tags(names: str, operator: str = "any", negate: bool = False) -> dict:
    return {"type": "tags", "value": {"operator": operator, "tags": names, "negate": negate}}


def form_submitted(page: Page) -> dict:
    return {"type": "form_submitted", "value": {
        "page": page.pk, "answer_field": "", "answer_operator": "eq", "answer_value": "",
        "count_operator": "at_least", "count": 1, "window": "ever", "days": None,
        "start": None, "end": None, "negate": False,
    }}


def page_views(page: Page, count: int, days: int) -> dict:
    return {"type": "page_views", "value": {
        "target": "page", "page": page.pk, "path": "", "count_operator": "at_least",
        "count": count, "window": "last_days", "days": days, "start": None, "end": None,
        "negate": False,
    }}


def any_of(*rules: dict) -> dict:
    return {"type": "group", "value": {"match": "any", "negate": False, "rules": list(rules)}}


def demo_segments(pages: dict[str, Page]) -> list[dict]:
    """The segments a small organisation starts with: dynamic where rules can say it."""
    dynamic, static = Segment.Kind.DYNAMIC, Segment.Kind.STATIC
    return [
        {
            "slug": "leads", "name": "Leads", "kind": dynamic, "match": "all",
            "description": "Known people showing buying interest: they wrote to us, booked a "
                           "demo or looked at Pricing at least twice in 30 days. Customers "
                           "leave this segment.",
            "rules": [
                status("identified"),
                any_of(
                    form_submitted(pages["contact"]),
                    form_submitted(pages["demo"]),
                    page_views(pages["pricing"], count=2, days=30),
                ),
                tags("customer", operator="none"),
            ],
        },
        {
            "slug": "subscribers", "name": "Subscribers", "kind": dynamic, "match": "any",
            "description": "Signed up for the newsletter, by the form or by import (tag).",
            "rules": [form_submitted(pages["newsletter"]), tags("newsletter")],
        },
        {
            "slug": "customers", "name": "Customers", "kind": dynamic, "match": "all",
            "description": "Tagged customer (by the CRM sync or by hand).",
            "rules": [tags("customer")],
        },
        {
            "slug": "donors", "name": "Donors", "kind": static, "match": "all",
            "description": "Supporters of our open-source work, added by hand.",
            "rules": [],
        },
        {
            "slug": "attendees", "name": "Attendees", "kind": dynamic, "match": "all",
            "description": "Came to our 2026 event (badge scans are tagged event-2026).",
            "rules": [tags("event-2026")],
        },
        {
            "slug": "members", "name": "Members", "kind": dynamic, "match": "any",
            "description": "Have a user account on the site, or are tagged member.",
            "rules": [status("user"), tags("member")],
        },
    ]


def build_segments(pages: dict[str, Page], seed: int) -> dict[str, int]:
    """Create the demo segments that are missing (by slug), rebuild the dynamic ones and give
    the static one a handful of members while it has none. Returns members per slug."""
    sizes = {}
    for spec in demo_segments(pages):
        spec = dict(spec)
        slug = spec.pop("slug")
        segment, _ = Segment.objects.get_or_create(slug=slug, defaults=spec)
        if segment.is_dynamic:
            rebuild_segment(segment)
        elif not segment.members().exists():
            identified = list(
                demo_contacts().filter(merged_into__isnull=True).exclude(email_key=None)
                .order_by("pk").values_list("pk", flat=True)
            )
            rng = random.Random(f"{seed}-{slug}")
            handful = min(len(identified), max(3, len(identified) // 12))
            add_contacts(segment, sorted(rng.sample(identified, handful)))
        sizes[slug] = segment.members().count()
    return sizes


# --------------------------------------------------------------------------- form mappings

# What an editor would choose in Marketing → Form mappings for the demo's forms: the typed
# properties pinned, and the contact form's message left on the timeline (it is about one
# question, not about the contact). The other fields keep the site's defaults.
DEMO_FORM_MAPPINGS = {
    "demo": {"team_size": "properties.team_size"},
    "newsletter": {"date_of_birth": "properties.date_of_birth"},
    "contact": {"message": None},
}


def build_form_mappings(pages: dict[str, Page]) -> int:
    """The demo forms' mappings, created once (an editor's later changes are kept); returns
    how many were created."""
    created = 0
    for key, targets in DEMO_FORM_MAPPINGS.items():
        _, was_created = FormMapping.objects.get_or_create(page=pages[key], defaults={"targets": targets})
        created += was_created
    return created


# --------------------------------------------------------------------------- reset


def demo_contacts():
    return Contact.objects.filter(uuid__endswith=DEMO_UUID_TAIL)


def delete_demo_data() -> int:
    """Delete the demo contacts, their events and the form submissions they made; returns
    how many contacts went."""
    contacts = demo_contacts()
    submission_ids = []
    submissions = Event.objects.filter(contact__in=contacts, kind="form_submission")
    for data in submissions.values_list("data", flat=True).iterator():
        label, _, pk = str((data or {}).get("submission") or "").partition(":")
        if label == FormSubmission._meta.label_lower and pk.isdigit():
            submission_ids.append(int(pk))
    for start in range(0, len(submission_ids), 500):
        FormSubmission.objects.filter(pk__in=submission_ids[start:start + 500]).delete()
    Event.objects.filter(contact__in=contacts).delete()
    count = contacts.count()
    contacts.delete()
    Company.objects.filter(name__in=[c[0] for c in COMPANIES], contacts__isnull=True).delete()
    return count


# --------------------------------------------------------------------------- command


class Command(BaseCommand):
    help = "Load the example site's pages, an admin/admin superuser and demo contacts (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--contacts", type=int, default=300, help="How many demo contacts (default 300).",
        )
        parser.add_argument(
            "--reset", action="store_true",
            help="Delete the demo contacts, their events and form submissions first.",
        )
        parser.add_argument(
            "--seed", type=int, default=DEFAULT_SEED, help="Seed of the random data.",
        )

    def handle(self, *args, contacts: int, reset: bool, seed: int, **options):
        if contacts < 0:
            raise CommandError("--contacts cannot be negative.")
        with transaction.atomic():
            pages, site, pages_created = build_pages()
            mappings_created = build_form_mappings(pages)
            admin_created = ensure_admin()
            removed = delete_demo_data() if reset else 0
            existing = demo_contacts().count()
            if existing:
                stats = None
            else:
                builder = DemoBuilder(random.Random(seed), pages, site, timezone.now())
                stats = builder.build(contacts)
        with transaction.atomic():
            segment_sizes = build_segments(pages, seed)
        with transaction.atomic():
            campaigns = build_campaigns(pages, site.root_url)
        parts = [f"{len(pages)} pages ({pages_created} new)", f"{mappings_created} form mappings new"]
        parts.append("admin/admin created" if admin_created else "admin user kept")
        if reset:
            parts.append(f"{removed} old demo contacts deleted")
        if stats is None:
            parts.append(f"{existing} demo contacts already loaded (--reset to reload)")
        else:
            parts.append(
                f"{stats['contacts']} contacts ({stats['identified']} identified), "
                f"{stats['events']} events, {stats['submissions']} form submissions"
            )
        parts.append("segments: " + ", ".join(
            f"{slug} {size}" for slug, size in segment_sizes.items()
        ))
        if campaigns:
            parts.append("campaigns: " + ", ".join(campaigns))
        self.stdout.write("Demo data: " + "; ".join(parts) + ".")
