"""Which requests are not tracked: admin and previews, static files, bots, DNT/GPC, refused
consent and (by default) staff. Checked before any database work."""

from __future__ import annotations

from django.conf import settings as django_settings
from django.http import HttpRequest

from wagtail_segments.conf import settings as conf
from wagtail_segments.contacts.privacy import refuses_tracking
from wagtail_segments.contacts.request_state import request_state

from .staff import is_staff_request


def is_bot(user_agent: str) -> bool:
    """True for an empty user agent or one containing a configured bot marker."""
    if not user_agent:
        return True
    agent = user_agent.lower()
    return any(marker in agent for marker in conf.BOT_USER_AGENTS)


def excluded_path(path: str) -> bool:
    prefixes = list(conf.EXCLUDED_PATH_PREFIXES)
    for setting in ("STATIC_URL", "MEDIA_URL"):
        url = getattr(django_settings, setting, None)
        if url and url.startswith("/"):
            prefixes.append(url)
    return any(path.startswith(prefix) for prefix in prefixes)


def should_track(request: HttpRequest, path: str | None = None) -> bool:
    """Whether events may be recorded for this request's visitor."""
    state = request_state(request)
    if state.tracked is not None and path is None:
        return state.tracked
    result = not (
        getattr(request, "is_preview", False)
        or excluded_path(path if path is not None else request.path)
        or is_bot(request.META.get("HTTP_USER_AGENT", ""))
        or refuses_tracking(request)
        or (not conf.TRACK_STAFF and is_staff_request(request))
    )
    if path is None:
        state.tracked = result
    return result
