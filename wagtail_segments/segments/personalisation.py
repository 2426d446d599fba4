"""Which segments the visitor of a request is in: what personalised content reads.

The answer comes from stored memberships (rules are never evaluated on a request): one
query the first time a request asks, then cached on the request, so a page costs at most one
query however many ``{% if_segment %}`` tags and personalised blocks it has. A visitor without
a valid contact cookie costs no query at all.

Privacy and safety:

- Only the memberships of exactly the contact id the signed cookie names are read, and only
  while that contact is live. A merged-away contact (``merged_into``) is never followed: anyone
  can type anyone's email into a form, and the cookie of whoever did so names the merged-away
  row; following it would show them the segments of the person whose email they typed.
- A visitor who refuses tracking (Do Not Track, Global Privacy Control, or the site's consent
  check) is treated as having no segments, with no query: what was recorded about them is
  not used to choose what they see.
- Every request that asks is marked (``request_state(request).personalised``) so that the response says
  ``Vary: Cookie``: a shared cache must not hand one visitor's personalised page to another,
  nor the "everyone else" version to a member.
"""

from __future__ import annotations

from django.http import HttpRequest

from wagtail_segments.conf import settings as conf
from wagtail_segments.contacts.identity import contact_id_from_cookie
from wagtail_segments.contacts.privacy import refuses_tracking
from wagtail_segments.contacts.request_state import request_state

from .models import Membership


def visitor_segment_slugs(request: HttpRequest | None) -> frozenset[str]:
    """Slugs of the active segments the request's visitor is a member of (not excluded)."""
    if request is None:
        return frozenset()
    state = request_state(request)
    state.personalised = True
    if state.segment_slugs is not None:
        return state.segment_slugs
    slugs: frozenset[str] = frozenset()
    # No cookie on the request: no stored memberships to read, and no query. (A contact the
    # tracking created during this very request has no memberships yet: a task writes them.)
    if request.COOKIES.get(conf.COOKIE_NAME) and not refuses_tracking(request):
        contact_id = contact_id_from_cookie(request)
        if contact_id is not None:
            slugs = frozenset(
                Membership.objects.filter(
                    contact_id=contact_id,
                    contact__merged_into__isnull=True,
                    excluded=False,
                    segment__active=True,
                )
                .order_by()
                .values_list("segment__slug", flat=True)
            )
    state.segment_slugs = slugs
    return slugs


def visitor_in_segment(request: HttpRequest | None, *slugs: str) -> bool:
    """Whether the visitor is a member of any of the segments named by ``slugs``."""
    wanted = {slug for slug in slugs if slug}
    if not wanted or request is None:
        return False
    return not wanted.isdisjoint(visitor_segment_slugs(request))
