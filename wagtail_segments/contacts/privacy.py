"""The visitor's own privacy choice, read from the request: one answer for every package.

Tracking records nothing for a visitor who refuses, and personalisation does not read their
profile either: showing someone content chosen from what was recorded about them is using
that record. It lives here, below tracking and segments, so that both ask the same question.
"""

from __future__ import annotations

from django.http import HttpRequest

from wagtail_segments.conf import settings as conf


def refuses_tracking(request: HttpRequest) -> bool:
    """Do Not Track or Global Privacy Control is on, or the site's consent check says no."""
    if conf.HONOUR_DNT and (
        request.META.get("HTTP_DNT") == "1" or request.META.get("HTTP_SEC_GPC") == "1"
    ):
        return True
    consent = conf.callable("CONSENT_CHECK")
    return consent is not None and not consent(request)
