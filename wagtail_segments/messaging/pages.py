"""What the public pages behind the links in messages share (unsubscribe, click, the
preference page and the double opt-in confirmation): their headers, and one answer for a
link that is not valid, whichever of them it was meant for."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

BAD_LINK = "wagtail_segments/messaging/bad_link.html"


def private(response: HttpResponse) -> HttpResponse:
    """The URL is a key to the contact's choices: keep it out of referrers and search engines."""
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def bad_link(request: HttpRequest, status: int = 400) -> HttpResponse:
    """An edited, cut or forged link (400), or one to something deleted since (404)."""
    return private(render(request, BAD_LINK, status=status))
