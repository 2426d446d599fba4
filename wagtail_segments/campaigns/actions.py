"""What an action step does, in a registry a site extends by subclassing.

An action step's settings are ``{"action": "<name>", ...}``; the rest goes to the action::

    from wagtail_segments.campaigns.actions import Action

    class CreateTicket(Action):
        name = "create_ticket"
        label = "Create a helpdesk ticket"

        def problems(self, config):
            return [] if config.get("queue") else ["Choose a queue."]

        def execute(self, run, config):
            ticket = helpdesk.open(queue=config["queue"], email=run.contact.email)
            return {"ticket": ticket.id}

Defining the class registers it (``__init_subclass__``; a class without its own ``name`` is a
base for others and is not registered). ``execute`` returns what the step log keeps; raising
fails the attempt, and the engine retries with its back-off.

``transactional = True`` says that everything the action does is written to this database:
the engine then runs it in one transaction with the step's "done" mark, so a worker that
dies mid-action leaves nothing behind and the step is simply done again. Any other action
(an email, a webhook) is never repeated after such a crash: its step is marked *unknown*
for a person to resolve. ``ends_run = True`` makes the run leave the campaign after it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from wagtail_segments.contacts.models import Contact, PropertyDefinition, contact_field_label
from wagtail_segments.contacts.properties import PropertyValueError, normalise_property, parse_boolean

if TYPE_CHECKING:
    from .models import Run

ACTIONS: dict[str, type["Action"]] = {}


class Action:
    name: ClassVar[str] = ""
    label: ClassVar[Any] = ""
    transactional: ClassVar[bool] = False
    ends_run: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("name")
        if not name:
            return
        known = ACTIONS.get(name)
        if known is not None and (known.__module__, known.__qualname__) != (cls.__module__, cls.__qualname__):
            raise ImproperlyConfigured(f"Campaign action {name!r} is defined twice: {known} and {cls}.")
        ACTIONS[name] = cls

    def problems(self, config: dict) -> list[str]:
        """What is wrong with the settings, in words for the editor; empty when they are fine."""
        return []

    def execute(self, run: "Run", config: dict) -> dict:
        raise NotImplementedError

    def deferred_until(self, run: "Run", config: dict, now) -> Any:
        """The moment the action may act when it may not act at ``now`` (an email outside
        the campaign's send window), else None. The run waits on its step until then."""
        return None

    # An action that can act for many runs at once defines
    # ``execute_batch(runs, config) -> (results, record)``: see batch.py.


def get_action(config: dict) -> Action | None:
    cls = ACTIONS.get((config or {}).get("action", ""))
    return cls() if cls else None


def action_problems(config: dict) -> list[str]:
    action = get_action(config)
    if action is None:
        return [_("“%(action)s” is not an action.") % {"action": (config or {}).get("action", "")}]
    return action.problems(config)


def _tag_names(config: dict) -> list[str]:
    tags = config.get("tags")
    return [str(t).strip() for t in tags if str(t).strip()] if isinstance(tags, list) else []


class AddTags(Action):
    name = "add_tags"
    label = gettext_lazy("Add tags")
    transactional = True

    def problems(self, config):
        return [] if _tag_names(config) else [_("Give at least one tag.")]

    def execute(self, run, config):
        run.contact.tags.add(*_tag_names(config))
        return {"tags": _tag_names(config)}


class RemoveTags(AddTags):
    name = "remove_tags"
    label = gettext_lazy("Remove tags")

    def execute(self, run, config):
        run.contact.tags.remove(*_tag_names(config))
        return {"tags": _tag_names(config)}


class AddToSegment(Action):
    name = "add_to_segment"
    label = gettext_lazy("Add to a static segment")
    transactional = True
    change: ClassVar[str] = "add_contacts"  # the function of segments/manual.py that writes

    def problems(self, config):
        from .steps import segment_problems

        return segment_problems(config.get("segment"), static=True)

    def execute(self, run, config):
        from wagtail_segments.segments import manual
        from wagtail_segments.segments.models import Membership, Segment

        segment = Segment.objects.get(pk=config["segment"])
        changed = getattr(manual, self.change)(segment, [run.contact_id], source=Membership.Source.CAMPAIGN)
        return {"segment": segment.pk, "changed": changed}


class RemoveFromSegment(AddToSegment):
    name = "remove_from_segment"
    label = gettext_lazy("Remove from a static segment")
    change = "remove_contacts"


class ChangePoints(Action):
    name = "change_points"
    label = gettext_lazy("Change points")
    transactional = True  # the increment commits with the step's "done" mark, so never twice

    def problems(self, config):
        points = config.get("points")
        if isinstance(points, bool) or not isinstance(points, int):
            return [_("Give the points to add (a negative number takes points away).")]
        return []

    def execute(self, run, config):
        from django.db.models import F

        from wagtail_segments.contacts.models import Contact

        contact = Contact.objects.get(pk=run.contact_id)
        contact.points = F("points") + config["points"]
        contact.save(update_fields=["points"])  # a save, so segments re-evaluate the contact
        contact.refresh_from_db(fields=["points"])
        return {"points": config["points"], "total": contact.points}


# The contact fields an action may set; the rest are identity (email, user) or the engine's.
SETTABLE_FIELDS = ("first_name", "last_name", "phone", "country", "do_not_email", "do_not_sms")


def settable_field_type(name: str) -> str:
    """A settable contact field's value type, in the words of ``PropertyDefinition.Type``."""
    if isinstance(Contact._meta.get_field(name), models.BooleanField):
        return PropertyDefinition.Type.BOOLEAN
    return PropertyDefinition.Type.TEXT


def field_value(name: str, value: Any) -> Any:
    """The value to store in the contact field ``name``: a yes/no field read as yes/no
    properties are, a text field checked against its column (its length)."""
    if settable_field_type(name) == PropertyDefinition.Type.BOOLEAN:
        return parse_boolean(value)
    text = "" if value is None else str(value).strip()
    try:
        return Contact._meta.get_field(name).clean(text, None)
    except ValidationError as error:
        raise PropertyValueError(" ".join(error.messages)) from None


def set_field_value(config: dict, types: dict[str, str] | None = None) -> Any:
    """The typed value a ``set_field`` step with ``config`` stores; raises PropertyValueError
    when it does not fit the field's or the declared property's type. ``types``: the declared
    property types when the caller has read them already."""
    if config.get("field"):
        return field_value(config["field"], config.get("value"))
    return normalise_property(config["property"], config.get("value"), types)


class SetField(Action):
    """``{"field": "first_name", "value": "Ada"}`` or ``{"property": "plan", "value": "gold"}``:
    the value is typed as the contact field's model field or the declared property's type
    says (``set_field_value``), when the step is saved and again when it acts, so that a
    value stored as text by an older version still works."""

    name = "set_field"
    label = gettext_lazy("Set a contact field or property")
    transactional = True

    def problems(self, config):
        field, prop = config.get("field"), config.get("property")
        if bool(field) == bool(prop):
            return [_("Choose one contact field or one property.")]
        if field and field not in SETTABLE_FIELDS:
            return [_("“%(field)s” cannot be set by a campaign.") % {"field": field}]
        types, target = None, field and contact_field_label(field)
        if prop:
            definition = PropertyDefinition.objects.filter(key=prop).first()
            if definition is None:
                return [_("The property “%(key)s” it sets is no longer declared.") % {"key": prop}]
            target, types = definition.label or prop, {prop: definition.type}
        try:
            set_field_value(config, types)
        except PropertyValueError as error:
            return [_("The value for “%(target)s” does not fit: %(error)s") % {"target": target, "error": error}]
        return []

    def execute(self, run, config):
        contact = Contact.objects.select_for_update().get(pk=run.contact_id)
        value = set_field_value(config)
        if config.get("field"):
            setattr(contact, config["field"], value)
            contact.save(update_fields=[config["field"]])
            return {"field": config["field"], "value": value}
        contact.properties = {**contact.properties, config["property"]: value}
        contact.save(update_fields=["properties"])
        return {"property": config["property"], "value": value}


class StartCampaign(Action):
    """Enrols the contact in another campaign (its re-entry rule applies)."""

    name = "start_campaign"
    label = gettext_lazy("Start another campaign")
    transactional = True

    def problems(self, config):
        from .models import Campaign

        try:
            exists = Campaign.objects.filter(pk=int(config.get("campaign"))).exists()
        except (TypeError, ValueError):
            exists = False
        if not exists:
            return [_("The campaign to start (id %(id)s) does not exist.") % {"id": config.get("campaign")}]
        return []

    def execute(self, run, config):
        from .entry import enrol
        from .models import Campaign

        other = Campaign.objects.get(pk=config["campaign"])
        return {"campaign": other.pk, "entered": enrol(other, [run.contact_id], source="campaign")}


class LeaveCampaign(Action):
    name = "leave"
    label = gettext_lazy("Leave this campaign")
    transactional = True
    ends_run = True

    def execute(self, run, config):
        return {}


# Actions defined in modules of their own register when this registry is first imported.
from . import email_action, notify, sms_action, webhook  # noqa: E402,F401
