"""The campaigns a small organisation starts with, for the demo (``load_demo``).

Each is built from the engine's public models, the way a developer or (later) the admin's
builder would: a campaign, its entry, its steps as a tree, its goal. They are created once
(by name) and left alone afterwards, so an editor's changes survive ``load_demo`` again.

- **Welcome**: the newsletter form → a welcome email within seconds.
- **Re-engagement**: enters "Lapsed" (no visit for 90 days) → email → wait 3 days → opened?
  no → a second email; a visit (entering "Active this week") is its goal.
- **Newsletter**: the public static list "Newsletter list" as source → the newsletter →
  opened within a day? yes → notify the Sales group; no → an SMS (only contacts with a
  valid phone get one). A draft: an editor sends it by activating it.
- **Lead nurture**: enters "Leads" → email → wait 3 days → email; becoming a customer
  (entering "Customers") is its goal, so a purchase ends it at once, mid-wait.
- **Turns 18**: enters "Turns 18 today" (date of birth from a form answer) → a birthday email.
- **Renewal**: enters "Renewal due in 30 days" → an email linking to the renewal form →
  submitted within 14 days? yes → tag "renewed"; no → notify the Sales group.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from wagtail.models import Page
from wagtail.rich_text import RichText

from wagtail_segments.campaigns.lifecycle import activate
from wagtail_segments.campaigns.models import Campaign, Step
from wagtail_segments.messaging.models import EmailMessage, Purpose, SmsMessage
from wagtail_segments.models import PropertyDefinition, Segment
from wagtail_segments.segments.evaluation import rebuild_segment


def date_rule(field: str, operator: str, number: int) -> dict:
    return {"type": "date", "value": {
        "field": field, "operator": operator, "number": number, "date": None, "end_date": None,
    }}


def identified() -> dict:
    return {"type": "status", "value": {"status": "identified", "negate": False}}


CAMPAIGN_SEGMENTS = [
    {"slug": "lapsed", "name": "Lapsed", "kind": "dynamic", "match": "all",
     "description": "Known contacts with no visit for 90 days.",
     "rules": [identified(), date_rule("last_seen", "more_than_days_ago", 90)]},
    {"slug": "active-this-week", "name": "Active this week", "kind": "dynamic", "match": "all",
     "description": "Known contacts who visited in the last 7 days.",
     "rules": [identified(), date_rule("last_seen", "within_last_days", 7)]},
    {"slug": "turns-18-today", "name": "Turns 18 today", "kind": "dynamic", "match": "all",
     "description": "Their date of birth (from the newsletter form) says 18 years ago today.",
     "rules": [date_rule("properties.date_of_birth", "age_is", 18)]},
    {"slug": "renewal-due", "name": "Renewal due in 30 days", "kind": "dynamic", "match": "all",
     "description": "Their renewal date is exactly 30 days away.",
     "rules": [date_rule("properties.renewal_date", "in_days", 30)]},
    {"slug": "newsletter-list", "name": "Newsletter list", "kind": "static", "match": "all",
     "public": True, "description": "The monthly newsletter. Contacts join or leave it from "
                                   "the preference page linked in every email."},
]

EMAILS = {
    "welcome": ("Welcome", "Welcome to Example Co., {{ first_name|default:\"friend\" }}",
                "<p>Hi {{ first_name|default:\"there\" }},</p><p>Thanks for subscribing. Once a "
                "month we will send product news, tips and invitations to our webinars.</p>",
                Purpose.MARKETING),
    "miss-you": ("We miss you", "It has been a while, {{ first_name|default:\"friend\" }}",
                 "<p>Here is what is new since your last visit: team calendars and shift "
                 "swaps.</p>", Purpose.MARKETING),
    "miss-you-2": ("We miss you (second try)", "One more thing before we let you go",
                   "<p>A free month on us if you come back before the end of the month.</p>",
                   Purpose.MARKETING),
    "newsletter": ("Monthly newsletter", "Example Co. news for {{ first_name|default:\"you\" }}",
                   "<p>This month: rotas that plan themselves, and a webinar on remote "
                   "teams.</p>", Purpose.MARKETING),
    "nurture-1": ("Lead nurture 1: how teams use it", "How teams like yours plan their week",
                  "<p>Three customers explain how they cut scheduling time in half.</p>",
                  Purpose.MARKETING),
    "nurture-2": ("Lead nurture 2: pricing", "A plan for a team of {{ properties.team_size|default:\"any size\" }}",
                  "<p>Every plan includes team calendars. Start a trial when you are ready.</p>",
                  Purpose.MARKETING),
    "birthday": ("Happy 18th", "Happy birthday, {{ first_name|default:\"friend\" }}!",
                 "<p>Eighteen today: a student plan is now yours, free for a year.</p>",
                 Purpose.MARKETING),
    "renewal": ("Renewal reminder", "Your subscription renews in 30 days",
                "<p>Nothing to do if you want to keep it. To change your plan, use the "
                "renewal form.</p>", Purpose.TRANSACTIONAL),
}


def ensure_segments() -> dict[str, Segment]:
    for key, label in (("date_of_birth", "Date of birth"), ("renewal_date", "Renewal date")):
        PropertyDefinition.objects.get_or_create(key=key, defaults={"label": label, "type": "date"})
    segments = {}
    for spec in CAMPAIGN_SEGMENTS:
        spec = dict(spec)
        slug = spec.pop("slug")
        segments[slug], created = Segment.objects.get_or_create(slug=slug, defaults=spec)
        if created and segments[slug].is_dynamic:
            rebuild_segment(segments[slug])  # the first build: its members enter no campaign
    return segments


def ensure_emails(pages: dict[str, Page], base_url: str) -> dict[str, EmailMessage]:
    emails = {}
    for key, (name, subject, body, purpose) in EMAILS.items():
        blocks = [("text", RichText(body))]
        if key == "renewal":
            blocks.append(("button", {"text": "Open the renewal form", "url": base_url + pages["renew"].url}))
        if key == "newsletter":
            blocks.append(("button", {"text": "Read on the blog", "url": base_url + pages["blog"].url}))
        emails[key], _ = EmailMessage.objects.get_or_create(
            name=name, defaults={"subject": subject, "body": blocks, "purpose": purpose,
                                 "preheader": "Example Co. — booking, calendars and rotas"},
        )
    return emails


def sales_group() -> Group:
    """The group notify-staff steps write to; the demo's admin is in it."""
    group, _ = Group.objects.get_or_create(name="Sales")
    admin = get_user_model().objects.filter(username="admin").first()
    if admin is not None:
        admin.groups.add(group)
    return group


def step(campaign: Campaign, kind: str, parent: Step | None = None, branch: str = "next",
         name: str = "", **config) -> Step:
    return Step.objects.create(campaign=campaign, kind=kind, parent=parent, branch=branch,
                               name=name, config=config)


def email(message) -> tuple[str, dict]:
    """An action step sending ``message``: its name and settings."""
    return f"Email: {message.name}", {"action": "send_email", "message": message.pk}


def send(campaign, message, parent=None, branch="next"):
    name, config = email(message)
    return step(campaign, "action", parent, branch, name, **config)


def decide(campaign: Campaign, parent: Step, question: str, *, yes: tuple[str, dict], no: tuple[str, dict],
           **condition) -> Step:
    """A decision after ``parent`` with one action on each branch; ``yes`` and ``no`` are an
    action's name and settings."""
    decision = step(campaign, "decision", parent, name=question, **condition)
    for branch, (name, config) in (("yes", yes), ("no", no)):
        step(campaign, "action", decision, branch, name, **config)
    return decision


def build_campaigns(pages: dict[str, Page], base_url: str) -> list[str]:
    """Create the demo campaigns that are missing (by name); returns the names created."""
    if Campaign.objects.filter(name="Welcome").exists():
        return []
    segments = ensure_segments()
    emails = ensure_emails(pages, base_url)
    sales = sales_group()
    sms, _ = SmsMessage.objects.get_or_create(
        name="Newsletter by SMS",
        defaults={"body": "Hi {{ first_name|default:\"there\" }}, this month's Example Co. news is "
                          "on our blog. Reply STOP to opt out."},
    )
    created = []

    welcome = Campaign.objects.create(
        name="Welcome", description="A welcome email within seconds of the newsletter form.",
        entry_form=pages["newsletter"], reentry=Campaign.Reentry.ONCE)
    send(welcome, emails["welcome"])
    created.append(welcome)

    lapsed = Campaign.objects.create(
        name="Re-engagement", description="No visit for 90 days: two emails three days apart; "
                                          "a visit ends it.",
        entry_segment=segments["lapsed"], reentry=Campaign.Reentry.AFTER_DAYS, reentry_days=180)
    first = send(lapsed, emails["miss-you"])
    wait = step(lapsed, "wait", first, name="Wait 3 days", days=3)
    decide(lapsed, wait, "Opened the first email?", did="opened", message=emails["miss-you"].pk, days=1,
           yes=("Tag: re-engaged", {"action": "add_tags", "tags": ["re-engaged"]}), no=email(emails["miss-you-2"]))
    step(lapsed, "goal", name="Visited again", segment=segments["active-this-week"].pk)
    created.append(lapsed)

    newsletter = Campaign.objects.create(
        name="Newsletter (December)", description="The monthly newsletter to the public list: "
                                                  "activate it to send.",
        entry_segment=segments["newsletter-list"], entry_segment_members=True)
    mail = send(newsletter, emails["newsletter"])
    decide(newsletter, mail, "Opened within a day?", did="opened", message=emails["newsletter"].pk, days=1,
           yes=("Tell sales", {"action": "notify_staff", "group": sales.pk,
                               "note": "Read the newsletter within a day."}),
           no=("SMS instead", {"action": "send_sms", "message": sms.pk}))
    created.append(newsletter)

    nurture = Campaign.objects.create(
        name="Lead nurture", description="Two emails to new leads; a purchase ends it at once.",
        entry_segment=segments["leads"] if "leads" in segments else Segment.objects.get(slug="leads"))
    one = send(nurture, emails["nurture-1"])
    pause = step(nurture, "wait", one, name="Wait 3 days", days=3)
    send(nurture, emails["nurture-2"], pause)
    step(nurture, "goal", name="Became a customer", segment=Segment.objects.get(slug="customers").pk)
    created.append(nurture)

    birthday = Campaign.objects.create(
        name="Turns 18", description="A birthday email on the day, once.",
        entry_segment=segments["turns-18-today"], reentry=Campaign.Reentry.ONCE)
    send(birthday, emails["birthday"])
    created.append(birthday)

    renewal = Campaign.objects.create(
        name="Renewal", description="30 days before the renewal date: a reminder, then a "
                                    "follow-up by sales if the form is not sent.",
        entry_segment=segments["renewal-due"], reentry=Campaign.Reentry.AFTER_DAYS, reentry_days=300)
    remind = send(renewal, emails["renewal"])
    decide(renewal, remind, "Sent the renewal form within 14 days?", did="submitted", form=pages["renew"].pk, days=14,
           yes=("Tag: renewed", {"action": "add_tags", "tags": ["renewed"]}),
           no=("Tell sales", {"action": "notify_staff", "group": sales.pk,
                              "note": "Renewal form not sent 14 days after the reminder."}))
    created.append(renewal)

    for campaign in created:
        if campaign is not newsletter:
            activate(campaign)
    return [campaign.name for campaign in created]
