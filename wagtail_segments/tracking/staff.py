"""Whether a request comes from staff, without loading the session or the user to find out.

Asking ``request.user.is_staff`` costs two queries (the session, then the user) for every
visitor with a session cookie: logged-in members, and anonymous visitors a site keeps a
session for. A tracked page must not cost them more than the page itself does. So the answer
comes from the user only when something already loaded it on this request; otherwise from a
signed flag cookie that the middleware keeps true to the user whenever a request did load it:
a login, a logout, any admin page, a template that shows the user.

The trade-off (docs/tracking.md): a staff member whose browser has not yet carried the flag
(signed in before this was deployed, or promoted while signed in) is tracked until a request
loads their user, which their next admin page does; a demoted one stays untracked until then.
Forging the flag is not possible without the secret key, and would only opt a visitor out.
"""

from __future__ import annotations

from django.conf import settings as django_settings
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject, empty

from wagtail_segments.conf import settings as conf

SALT = "wagtail_segments.staff"
FLAG = "staff"


def staff_cookie_name() -> str:
    return f"{conf.COOKIE_NAME}_staff"


def loaded_user(request: HttpRequest):
    """The request's user if something already loaded it, else None. Never loads it."""
    user = getattr(request, "user", None)
    if isinstance(user, SimpleLazyObject) and user._wrapped is empty:
        return None
    return user


def _is_staff(user) -> bool:
    return bool(user.is_authenticated and user.is_staff)


def has_staff_flag(request: HttpRequest) -> bool:
    raw = request.COOKIES.get(staff_cookie_name())
    if not raw or len(raw) > 200:
        return False
    try:
        return signing.Signer(salt=SALT).unsign(raw) == FLAG
    except signing.BadSignature:
        return False


def is_staff_request(request: HttpRequest) -> bool:
    """Whether the visitor is staff: the user if loaded, else the flag cookie (no query)."""
    user = loaded_user(request)
    if user is not None:
        return _is_staff(user)
    return has_staff_flag(request)


def apply_staff_flag(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Set or clear the flag cookie when this request loaded the user and the flag disagrees."""
    user = loaded_user(request)
    if conf.TRACK_STAFF or user is None:
        return response
    staff, flagged = _is_staff(user), has_staff_flag(request)
    if staff and not flagged:
        response.set_cookie(
            staff_cookie_name(),
            signing.Signer(salt=SALT).sign(FLAG),
            max_age=django_settings.SESSION_COOKIE_AGE,
            domain=conf.COOKIE_DOMAIN,
            secure=request.is_secure() if conf.COOKIE_SECURE is None else conf.COOKIE_SECURE,
            httponly=True,
            samesite="Lax",
        )
    elif flagged and not staff:
        response.delete_cookie(staff_cookie_name(), domain=conf.COOKIE_DOMAIN, samesite="Lax")
    return response
