"""The ``notify_staff`` action: an email to a user (``{"user": <id>}``) or to each active
member of a group (``{"group": <id>}``) with a link to the contact in the admin; an optional
``"note"`` says what to do (``"Call them today"``).

Not transactional (the email leaves the site): the engine logs the step before sending, so
a retried task never mails twice. Nobody to mail (the user has no email, the group no
active member with one) fails the attempt, so the run shows it.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .actions import Action
from .staff_mail import admin_url, send_staff_email


def _id(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def staff_to_notify(config: dict):
    """The users the step mails: the user, or the group's active members, with an email."""
    users = get_user_model().objects.filter(is_active=True).exclude(email="")
    if config.get("user") is not None:
        return users.filter(pk=_id(config["user"]))
    group = _id(config.get("group"))
    return users.filter(groups=group).order_by("pk") if group is not None else users.none()


class NotifyStaff(Action):
    name = "notify_staff"
    label = gettext_lazy("Notify a member of staff")

    def problems(self, config):
        has_user, has_group = config.get("user") is not None, config.get("group") is not None
        if has_user == has_group:
            return [_("Choose one user or one group to notify.")]
        if has_user and not get_user_model().objects.filter(pk=_id(config["user"])).exists():
            return [_("The user to notify (id %(id)s) does not exist.") % {"id": config["user"]}]
        if has_group and not Group.objects.filter(pk=_id(config["group"])).exists():
            return [_("The group to notify (id %(id)s) does not exist.") % {"id": config["group"]}]
        return []

    def execute(self, run, config):
        from wagtail_segments.contacts.models import Contact

        users = list(staff_to_notify(config))
        if not users:
            if config.get("user") is not None:
                raise LookupError(_("Nobody to notify: user %(id)s is inactive or has no email.") % {"id": config["user"]})
            raise LookupError(_("Nobody to notify: group %(id)s has no active member with an email.") % {
                "id": config.get("group")})
        contact = Contact.objects.get(pk=run.contact_id)
        context = {
            "contact": contact, "contact_url": admin_url(contact), "campaign": run.campaign,
            "step": run.step, "note": config.get("note") or "",
        }
        send_staff_email(users, "wagtail_segments/campaigns/notify_staff", context, subject=lambda c: _(
            "%(contact)s reached “%(step)s” in %(campaign)s") % {
                "contact": c["contact"], "step": c["step"], "campaign": c["campaign"]})
        return {"notified": [user.pk for user in users]}
