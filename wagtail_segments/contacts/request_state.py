"""What the package has learned about one request's visitor, kept for the rest of the request.

Identity, tracking and personalisation each answer a question about the visitor once per
request (which contact the cookie names, whether they are tracked, which segments they are in)
and the middleware acts on the answers on the way out (write the cookie, send ``Vary:
Cookie``). They share one object on the request, reached through ``request_state()``, instead
of private attributes scattered across modules. It lives in ``contacts``, below tracking and
segments, so that every package may use it (docs/architecture.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest

ATTRIBUTE = "_wagtail_segments"


@dataclass
class RequestState:
    #: The contact cookie has been read; ``cookie_contact_id`` holds what it named.
    cookie_read: bool = False
    #: The contact id the cookie names (or will name once ``cookie_pending`` is written).
    cookie_contact_id: int | None = None
    #: The response must set (or, for None, delete) the contact cookie.
    cookie_pending: bool = False
    #: The cookie is past half its life: the response re-issues it.
    cookie_reissue: bool = False
    #: Whether events may be recorded for this visitor; None until asked.
    tracked: bool | None = None
    #: The visitor's segment slugs; None until personalisation asked.
    segment_slugs: frozenset[str] | None = None
    #: Something on the page depended on the visitor's segments: the response varies by cookie.
    personalised: bool = False


def request_state(request: HttpRequest) -> RequestState:
    """The request's state, created on first use."""
    state = request.__dict__.get(ATTRIBUTE)
    if state is None:
        state = RequestState()
        setattr(request, ATTRIBUTE, state)
    return state
