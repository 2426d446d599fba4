"""The endpoint of the JavaScript beacon: what the server cannot see (time on page, custom
events from site scripts) and, on cached sites, the page views themselves.

It accepts only same-origin POSTs of a small JSON object whose every value can be stored
(storable.py), rate-limits each visitor, and never trusts a page id it did not sign itself.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from django.core import signing
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _

from wagtail_segments.conf import settings as conf
from wagtail_segments.contacts.identity import contact_id_from_cookie
from wagtail_segments.contacts.models import EventKind

from .address import client_address
from .details import MAX_URL, client_ip, country_of, device_class, utm_from_url
from .filters import should_track
from .recorder import record_event, visitor_contact_id
from .storable import Unstorable, dropped_when_refused, json_from_visitor, storable_text

PAGE_SALT = "wagtail_segments.beacon.page"
MAX_SECONDS_ON_PAGE = 24 * 3600
MAX_NAME = 100
RATE_WINDOW_SECONDS = 60


def sign_page_id(page_id: int) -> str:
    return signing.Signer(salt=PAGE_SALT).sign(str(page_id))


def page_id_from_token(token) -> int | None:
    if not isinstance(token, str) or not token or len(token) > 100:
        return None
    try:
        value = signing.Signer(salt=PAGE_SALT).unsign(token)
    except signing.BadSignature:
        return None
    return int(value) if value.isdigit() else None


def bad_request(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def is_same_origin(request: HttpRequest) -> bool:
    """The browser says the request came from this site: Origin, else Sec-Fetch-Site, else Referer."""
    host = request.get_host()
    origin = request.META.get("HTTP_ORIGIN")
    if origin:
        return origin != "null" and urlsplit(origin).netloc == host
    fetch_site = request.META.get("HTTP_SEC_FETCH_SITE")
    if fetch_site:
        return fetch_site == "same-origin"
    referer = request.META.get("HTTP_REFERER")
    return bool(referer) and urlsplit(referer).netloc == host


def contact_rate_key(contact_id: int) -> str:
    return f"wsg:beacon:contact:{contact_id}"


def rate_key(request: HttpRequest) -> str:
    """Whose events the limit counts: the contact the signed cookie names, so that visitors
    behind one proxy are counted apart; else the client address behind the trusted proxies
    (address.py), which a client cannot rewrite. An IPv6 client counts by its /64, the block
    one host can rotate through."""
    contact_id = contact_id_from_cookie(request)
    if contact_id is not None:
        return contact_rate_key(contact_id)
    address = client_address(request)
    if address is not None and address.version == 6:
        address = ipaddress.ip_network(f"{address}/64", strict=False).network_address
    return f"wsg:beacon:ip:{address}"


def rate_limited(key: str) -> bool:
    """More than BEACON_RATE_LIMIT events this minute under ``key``. A visitor who drops the
    cookie is counted by address, so a flood cannot escape the limit by forgetting it."""
    limit = conf.BEACON_RATE_LIMIT
    if not limit:
        return False
    if cache.add(key, 1, timeout=RATE_WINDOW_SECONDS):
        return False
    try:
        count = cache.incr(key)
    except ValueError:
        return False
    return count > limit


def allowed_kinds() -> set[str]:
    kinds = {EventKind.TIME_ON_PAGE, EventKind.CUSTOM, *conf.BEACON_CUSTOM_KINDS}
    if conf.PAGE_VIEWS == "beacon":
        kinds.add(EventKind.PAGE_VIEW)
    return kinds


def read_payload(request: HttpRequest) -> dict | JsonResponse:
    limit = conf.BEACON_MAX_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return bad_request(_("Bad Content-Length."))
    if declared > limit:
        return bad_request(_("Payload too large."))
    body = request.read(limit + 1)
    if len(body) > limit:
        return bad_request(_("Payload too large."))
    try:
        payload = json_from_visitor(body.decode("utf-8"))
    except Unstorable:
        return bad_request(_("The payload holds a value that cannot be stored."))
    except ValueError:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return bad_request(_("The payload is not JSON."))
    if not isinstance(payload, dict):
        return bad_request(_("The payload must be a JSON object."))
    return payload


def event_data(kind: str, payload: dict) -> dict | None:
    if kind == EventKind.TIME_ON_PAGE:
        seconds = payload.get("seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
            return None
        return {"seconds": round(min(max(float(seconds), 0.0), MAX_SECONDS_ON_PAGE), 1)}
    if kind == EventKind.PAGE_VIEW:
        return {}
    name = payload.get("name", "")
    data = payload.get("data", {})
    if not isinstance(name, str) or not isinstance(data, dict):
        return None
    return {"name": name[:MAX_NAME], "data": data}


def beacon_view(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return bad_request(_("Only POST is accepted."), status=405)
    if not is_same_origin(request):
        return bad_request(_("Cross-origin events are not accepted."), status=403)
    payload = read_payload(request)
    if isinstance(payload, JsonResponse):
        return payload
    kind = payload.get("kind")
    if not isinstance(kind, str) or kind not in allowed_kinds():
        return bad_request(_("Unknown event kind."))
    data = event_data(kind, payload)
    if data is None:
        return bad_request(_("Malformed event data."))
    path = payload.get("path", "")
    if not isinstance(path, str) or not path.startswith("/"):
        return bad_request(_("The path must start with “/”."))
    referrer = payload.get("referrer", "")
    referrer = referrer if isinstance(referrer, str) else ""
    if not should_track(request, path=path):
        return HttpResponse(status=204)
    key = rate_key(request)
    if rate_limited(key):
        return bad_request(_("Too many events."), status=429)
    agent = request.META.get("HTTP_USER_AGENT", "")
    country = country_of(request)
    details = {
        "path": storable_text(path, MAX_URL),
        "referrer": storable_text(referrer, MAX_URL),
        "device": device_class(agent),
        "country": country,
        "ip": client_ip(request),
        **utm_from_url(path),
    }
    with dropped_when_refused("a beacon event"):
        contact_id = visitor_contact_id(request, country=country)
        record_event(
            contact_id, kind, request=request, details=details,
            page_id=page_id_from_token(payload.get("page")), data=data,
        )
        if key != contact_rate_key(contact_id):
            # A new visitor's first event counts toward the contact it just got.
            cache.add(contact_rate_key(contact_id), 1, timeout=RATE_WINDOW_SECONDS)
    return HttpResponse(status=204)
