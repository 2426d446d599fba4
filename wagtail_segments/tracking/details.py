"""What an event keeps of the request: path, referrer, UTM parameters, device class, country
and an anonymised IP. All of it is visitor-controlled text, so it is made storable
(storable.py) and cut to the column sizes."""

from __future__ import annotations

import ipaddress
from urllib.parse import parse_qsl, urlsplit

from django.http import HttpRequest

from wagtail_segments.conf import settings as conf

from .address import IPAddress, client_address
from .country import country_of
from .storable import storable_text

UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
MAX_URL = 2048
MAX_UTM = 200


def device_class(user_agent: str) -> str:
    """"mobile", "tablet" or "desktop", from the user agent alone."""
    agent = (user_agent or "").lower()
    if "ipad" in agent or "tablet" in agent or ("android" in agent and "mobile" not in agent):
        return "tablet"
    if "mobi" in agent or "iphone" in agent or "android" in agent:
        return "mobile"
    return "desktop"


def anonymise_ip(address: IPAddress) -> str:
    """IPv4 keeps its first three bytes, IPv6 its first 48 bits (unless ANONYMISE_IP is off)."""
    if not conf.ANONYMISE_IP:
        return str(address)
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False).network_address)


def client_ip(request: HttpRequest) -> str | None:
    """The address an event keeps: anonymised unless the site says otherwise, None if not kept."""
    if not conf.STORE_IP:
        return None
    address = client_address(request)
    return anonymise_ip(address) if address is not None else None


def utm_from_query(query) -> dict[str, str]:
    """The UTM parameters of a query, storable, the empty ones left out."""
    utm = {key: storable_text(query.get(key), MAX_UTM) for key in UTM_KEYS}
    return {key: value for key, value in utm.items() if value}


def utm_from_url(url: str) -> dict[str, str]:
    query: dict[str, str] = {}
    for key, value in parse_qsl(urlsplit(url).query, keep_blank_values=True):
        query.setdefault(key, value)
    return utm_from_query(query)


def request_site(request: HttpRequest):
    """The Wagtail site of the request; cached on the request by Wagtail, so free for pages."""
    from wagtail.models import Site

    try:
        return Site.find_for_request(request)
    except Exception:  # an unknown host must not fail tracking
        return None


def request_details(request: HttpRequest) -> dict:
    """Event column values taken from the request itself."""
    details = {
        "site": request_site(request),
        "path": storable_text(request.get_full_path(), MAX_URL),
        "referrer": storable_text(request.META.get("HTTP_REFERER"), MAX_URL),
        "device": device_class(request.META.get("HTTP_USER_AGENT", "")),
        "country": country_of(request),
        "ip": client_ip(request),
    }
    details.update(utm_from_query(request.GET))
    return details
