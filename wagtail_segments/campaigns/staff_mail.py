"""Emails to members of staff (users of the admin, not contacts): the notify-staff action
and the failure pause use them. Each goes in the user's own admin language, as text and
HTML from a pair of templates, over one connection; the HTML escapes what contacts typed.

Staff emails are transactional: no frequency cap, no send window, no unsubscribe link.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.admin.utils import quote
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import translation


def admin_url(instance, actions: tuple[str, ...] = ("inspect", "edit")) -> str | None:
    """The absolute admin URL of ``instance``, or None when the admin has no page for it.

    Tries the modeladmin views named in ``actions`` (in order), then Wagtail's admin URL
    finder (viewsets, snippets). Starts with ``WAGTAILADMIN_BASE_URL`` when the site sets
    it (Wagtail's own notifications do), else with ``PUBLIC_BASE_URL`` / the default site.
    """
    from wagtail.admin.admin_url_finder import AdminURLFinder

    meta = instance._meta
    path = None
    for action in actions:
        try:
            path = reverse(f"{meta.app_label}_{meta.model_name}_modeladmin_{action}", args=[quote(instance.pk)])
            break
        except NoReverseMatch:
            continue
    path = path or AdminURLFinder().get_edit_url(instance)
    return _admin_base_url() + path if path else None


def _admin_base_url() -> str:
    from wagtail_segments.messaging.links import base_url

    return (getattr(settings, "WAGTAILADMIN_BASE_URL", None) or base_url()).rstrip("/")


def _language(user) -> str:
    from wagtail.users.models import UserProfile

    try:
        return UserProfile.get_for_user(user).get_preferred_language()
    except Exception:  # no profile table in a stripped-down site: the site's language
        return settings.LANGUAGE_CODE


def send_staff_email(users, template: str, context: dict, subject) -> int:
    """Email each of ``users`` the ``template``.txt / .html pair with ``context``.

    ``subject`` is a callable taking the context (so it is translated in each user's
    language). Raises what the email backend raises; returns how many were sent.
    """
    messages = []
    for user in users:
        with translation.override(_language(user)):
            context_for = {**context, "user": user}
            text = render_to_string(f"{template}.txt", context_for)
            html = render_to_string(f"{template}.html", context_for)
            line = " ".join(str(subject(context_for)).split())  # no newline from a contact's name
            message = EmailMultiAlternatives(line[:250], text, to=[user.email])
            message.attach_alternative(html, "text/html")
            messages.append(message)
    if not messages:
        return 0
    with get_connection() as connection:
        return connection.send_messages(messages) or 0
