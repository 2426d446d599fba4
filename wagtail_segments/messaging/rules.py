"""Segment rule types over what messages did: "opened an email of campaign C in the last 30
days", "clicked a link containing /pricing", "bounced".

They live here, beside the message models, and register into the segments rule registry
(``load_message_rules``, called from ``apps.py``): segments never imports messaging. Like the
behaviour rules, each compiles to a ``Q`` over contacts over the event log (the ``data`` of
message events names the message, campaign and delivery: events.py), and declares the event
kinds that move it, so that the pass over new events re-evaluates only the contacts whose new
message events can change it. Machine opens (machine_opens.py) never count unless the rule
says so.

Campaigns stand above messaging: the campaign choices are read through the app registry, by
model name, not imported; a campaign is matched by the id its deliveries carry.
"""

from __future__ import annotations

from django.apps import apps
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _
from wagtail import blocks

from wagtail_segments.contacts.models import Event, EventKind
from wagtail_segments.segments.rules import BrokenRule, Rule, RuleContext, register
from wagtail_segments.segments.rules.behaviour import count_blocks, count_condition, window_blocks, window_filter
from wagtail_segments.segments.rules.operators import JsonKey, compare

from .models import EmailMessage

ACTIVITIES = {
    "sent": EventKind.EMAIL_SENT,
    "delivered": EventKind.EMAIL_DELIVERED,
    "opened": EventKind.EMAIL_OPENED,
    "clicked": EventKind.EMAIL_CLICKED,
}
ACTIVITY_CHOICES = [
    ("sent", _("was sent")),
    ("delivered", _("had delivered")),
    ("opened", _("opened")),
    ("clicked", _("clicked a link in")),
]
SCOPES = [
    ("any", _("any email")),
    ("message", _("a given email")),
    ("campaign", _("any email of a campaign")),
]
STATUSES = {
    "bounced": EventKind.EMAIL_BOUNCED,
    "complained": EventKind.EMAIL_COMPLAINED,
    "unsubscribed": EventKind.EMAIL_UNSUBSCRIBED,
}
STATUS_CHOICES = [
    ("bounced", _("bounced (or was rejected)")),
    ("complained", _("marked an email as spam")),
    ("unsubscribed", _("unsubscribed")),
]


def message_choices() -> list[tuple[str, str]]:
    return [(str(pk), name) for pk, name in EmailMessage.objects.order_by("name").values_list("pk", "name")]


def campaign_model():
    return apps.get_model("wagtail_segments", "Campaign")


def campaign_choices() -> list[tuple[str, str]]:
    return [(str(pk), name) for pk, name in campaign_model().objects.order_by("name").values_list("pk", "name")]


def _chosen_id(value: dict, key: str, model, missing: str, gone: str, context: RuleContext) -> int:
    """The id of the chosen message or campaign; BrokenRule when none or deleted."""
    raw = value.get(key)
    try:
        pk = int(raw)
    except (TypeError, ValueError):
        raise BrokenRule(missing) from None
    cache = context.cache.setdefault(f"message_rule_{key}", {})
    if pk not in cache:
        cache[pk] = model.objects.filter(pk=pk).exists()
    if not cache[pk]:
        raise BrokenRule(gone % {"id": pk})
    return pk


def not_machine() -> Q:
    """Opens by people: events not marked ``machine: true`` (an unmarked event is a person's)."""
    return Q(data__machine__isnull=True) | Q(data__machine=False)


@register
class EmailActivityRule(Rule):
    name = "email_activity"
    label = _("Email sent, delivered, opened or clicked")
    icon = "mail"
    depends_on = frozenset({*(f"events:{kind}" for kind in ACTIVITIES.values()), "time"})

    def child_blocks(self):
        return [
            ("activity", blocks.ChoiceBlock(choices=ACTIVITY_CHOICES, default="opened", label=_("The contact"))),
            ("scope", blocks.ChoiceBlock(choices=SCOPES, default="any", label=_("Which email"))),
            ("message", blocks.ChoiceBlock(choices=message_choices, required=False, label=_("Email"))),
            ("campaign", blocks.ChoiceBlock(choices=campaign_choices, required=False, label=_("Campaign"))),
            ("link_contains", blocks.CharBlock(
                required=False, label=_("Link contains (clicks only)"),
                help_text=_("Only clicks on links whose address contains this text, e.g. /pricing"))),
            ("include_machine_opens", blocks.BooleanBlock(
                required=False, label=_("Count machine opens"),
                help_text=_("Opens by mail privacy proxies and scanners, which open every email as it arrives."))),
            *count_blocks(),
            *window_blocks(),
        ]

    def activity(self, value: dict) -> str:
        activity = value.get("activity") or "opened"
        if activity not in ACTIVITIES:
            raise BrokenRule(_("Unknown email activity “%(activity)s”.") % {"activity": activity})
        return activity

    def dependencies(self, value):
        activity = value.get("activity") or "opened"
        kind = ACTIVITIES.get(activity)
        return {"time", *((f"events:{kind}",) if kind else self.depends_on)}

    def matching_events(self, value: dict, context: RuleContext) -> Q:
        activity = self.activity(value)
        q = Q(window_filter(value, context), kind=ACTIVITIES[activity])
        scope = value.get("scope") or "any"
        if scope == "message":
            q &= Q(data__message=_chosen_id(
                value, "message", EmailMessage, _("No email chosen."),
                _("The email with id %(id)s no longer exists."), context))
        elif scope == "campaign":
            q &= Q(data__campaign=_chosen_id(
                value, "campaign", campaign_model(), _("No campaign chosen."),
                _("The campaign with id %(id)s no longer exists."), context))
        if activity == "opened" and not value.get("include_machine_opens"):
            q &= not_machine()
        link = (value.get("link_contains") or "").strip()
        if activity == "clicked" and link:
            q &= compare(JsonKey("data", "url"), "contains", link)
        return q

    def compile(self, value, context):
        return count_condition(Event.objects.filter(self.matching_events(value, context)), value, context)

    def moved_by(self, value, context):
        return self.matching_events(value, context)

    def describe(self, value):
        activity = dict(ACTIVITY_CHOICES).get(value.get("activity"), value.get("activity"))
        scope = value.get("scope") or "any"
        if scope == "message":
            target = dict(message_choices()).get(str(value.get("message")), _("a deleted email"))
        elif scope == "campaign":
            target = _("an email of %(campaign)s") % {
                "campaign": dict(campaign_choices()).get(str(value.get("campaign")), _("a deleted campaign"))}
        else:
            target = _("any email")
        text = f"{activity} {target}"
        if value.get("activity") == "clicked" and value.get("link_contains"):
            text += " " + str(_("(link contains “%(text)s”)") % {"text": value["link_contains"]})
        return text


@register
class EmailStatusRule(Rule):
    name = "email_status"
    label = _("Email bounced, spam complaint or unsubscribed")
    icon = "warning"
    depends_on = frozenset({*(f"events:{kind}" for kind in STATUSES.values()), "time"})

    def child_blocks(self):
        return [
            ("status", blocks.ChoiceBlock(choices=STATUS_CHOICES, default="unsubscribed", label=_("The contact"))),
            *window_blocks(),
        ]

    def kind(self, value: dict) -> str:
        status = value.get("status") or "unsubscribed"
        if status not in STATUSES:
            raise BrokenRule(_("Unknown email status “%(status)s”.") % {"status": status})
        return STATUSES[status]

    def dependencies(self, value):
        kind = STATUSES.get(value.get("status") or "unsubscribed")
        return {"time", *((f"events:{kind}",) if kind else self.depends_on)}

    def matching_events(self, value: dict, context: RuleContext) -> Q:
        return Q(window_filter(value, context), kind=self.kind(value))

    def compile(self, value, context):
        events = Event.objects.filter(self.matching_events(value, context))
        return Q(Exists(events.filter(contact_id=OuterRef("pk"))))

    def moved_by(self, value, context):
        return self.matching_events(value, context)

    def describe(self, value):
        return str(dict(STATUS_CHOICES).get(value.get("status"), value.get("status")))


def load_message_rules() -> None:
    """Registering is importing this module; called from ``apps.py``."""
