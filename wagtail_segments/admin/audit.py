"""What the marketing screens record in Wagtail's audit log (Reports → Site history and each
object's history): rule changes, member changes and exports, form mappings, each with the user
who did it."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from wagtail.log_actions import log

RULES_CHANGED = "wagtail_segments.rules_changed"
MEMBERS_ADDED = "wagtail_segments.members_added"
MEMBERS_REMOVED = "wagtail_segments.members_removed"
CONTACTS_EXPORTED = "wagtail_segments.contacts_exported"
CONTACTS_TAGGED = "wagtail_segments.contacts_tagged"
CONTACTS_UNTAGGED = "wagtail_segments.contacts_untagged"
CONTACTS_DELETED = "wagtail_segments.contacts_deleted"
STEP_ADDED = "wagtail_segments.step_added"
STEP_CHANGED = "wagtail_segments.step_changed"
STEP_DELETED = "wagtail_segments.step_deleted"
STEP_MOVED = "wagtail_segments.step_moved"
CAMPAIGN_ACTIVATED = "wagtail_segments.campaign_activated"
CAMPAIGN_PAUSED = "wagtail_segments.campaign_paused"
CAMPAIGN_RESUMED = "wagtail_segments.campaign_resumed"
UNKNOWN_RESOLVED = "wagtail_segments.unknown_step_resolved"
BROADCAST_SENT = "wagtail_segments.broadcast_sent"
TEST_SENT = "wagtail_segments.test_sent"
CONTACT_EXPORTED = "wagtail_segments.contact_exported"
CONTACT_ERASED = "wagtail_segments.contact_erased"
TOUCHPOINT_LOGGED = "wagtail_segments.touchpoint_logged"
FORM_MAPPING_CHANGED = "wagtail_segments.form_mapping_changed"

ACTIONS = {
    RULES_CHANGED: (_("Change segment rules"), _("Segment rules changed")),
    MEMBERS_ADDED: (_("Add segment members"), _("Contacts added to the segment")),
    MEMBERS_REMOVED: (_("Remove segment members"), _("Contacts removed from the segment")),
    CONTACTS_EXPORTED: (_("Export contacts"), _("Contacts exported")),
    CONTACTS_TAGGED: (_("Tag contacts"), _("Tag added to contacts")),
    CONTACTS_UNTAGGED: (_("Untag contacts"), _("Tag removed from contacts")),
    CONTACTS_DELETED: (_("Delete contacts"), _("Contacts deleted")),
    STEP_ADDED: (_("Add campaign step"), _("Campaign step added")),
    STEP_CHANGED: (_("Change campaign step"), _("Campaign step changed")),
    STEP_DELETED: (_("Delete campaign step"), _("Campaign step deleted")),
    STEP_MOVED: (_("Move campaign step"), _("Campaign step moved")),
    CAMPAIGN_ACTIVATED: (_("Activate campaign"), _("Campaign activated")),
    CAMPAIGN_PAUSED: (_("Pause campaign"), _("Campaign paused")),
    CAMPAIGN_RESUMED: (_("Resume campaign"), _("Campaign resumed")),
    UNKNOWN_RESOLVED: (_("Resolve unknown send"), _("Unknown send resolved")),
    BROADCAST_SENT: (_("Send broadcast"), _("Broadcast sent")),
    TEST_SENT: (_("Send test message"), _("Test message sent")),
    CONTACT_EXPORTED: (_("Export a contact's data"), _("Everything about the contact exported as JSON")),
    CONTACT_ERASED: (_("Erase a contact"), _("A contact and everything about them erased")),
    TOUCHPOINT_LOGGED: (_("Log a touchpoint"), _("Touchpoint logged")),
    FORM_MAPPING_CHANGED: (_("Change form mapping"), _("Where the form's answers go changed")),
}


def register_log_actions(actions) -> None:
    for action, (label, message) in ACTIONS.items():
        actions.register_action(action, label, message)


def record(instance, action: str, user=None, **data):
    """One audit log entry on ``instance`` (its history), with ``data`` kept beside it."""
    return log(instance, action, user=user, data=data)


def record_many(model, action: str, user, label: str, **data):
    """One audit log entry for an action on many rows at once (an export or a bulk change to
    "everyone matching" may touch a million contacts: one entry, not one per contact). Its
    object id is "*"; its label says how many and which."""
    from django.contrib.contenttypes.models import ContentType
    from django.utils import timezone
    from wagtail.models import ModelLogEntry

    return ModelLogEntry.objects.create(
        content_type=ContentType.objects.get_for_model(model, for_concrete_model=False),
        object_id="*", label=label[:1000], action=action, user=user, data=data,
        timestamp=timezone.now(),
    )
