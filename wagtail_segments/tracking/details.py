"""What an event keeps of the request: path, referrer, UTM parameters, device class, country
and an anonymised IP. All of it is attacker-controlled text, so it is cut to the column sizes."""

from __future__ import annotations

import ipaddress
from urllib.parse import parse_qs, urlsplit

from django.http import HttpRequest

from wagtail_segments.conf import settings as conf

from .country import country_of

UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
MAX_URL = 2048
MAX_UTM = 200


def clip(value: str | None, length: int) -> str:
    return (value or "")[:length]


def device_class(user_agent: str) -> str:
    """"mobile", "tablet" or "desktop", from the user agent alone."""
    agent = (user_agent or "").lower()
    if "ipad" in agent or "tablet" in agent or ("android" in agent and "mobile" not in agent):
        return "tablet"
    if "mobi" in agent or "iphone" in agent or "android" in agent:
        return "mobile"
    return "desktop"


def anonymise_ip(value: str) -> str | None:
    """IPv4 keeps its first three bytes, IPv6 its first 48 bits; None for a non-address."""
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    if not conf.ANONYMISE_IP:
        return str(address)
    prefix = 24 if address.version == 4 else 48
    network = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
    return str(network.network_address)


def client_address(request: HttpRequest) -> str:
    """The client's address as the configured header gives it (first of a proxy chain)."""
    raw = request.META.get(conf.IP_HEADER, "") or request.META.get("REMOTE_ADDR", "") or ""
    return raw.split(",")[0].strip()


def client_ip(request: HttpRequest) -> str | None:
    """The address an event keeps: anonymised unless the site says otherwise, None if not kept."""
    if not conf.STORE_IP:
        return None
    raw = client_address(request)
    return anonymise_ip(raw) if raw else None


def utm_from_query(query: dict) -> dict[str, str]:
    return {key: clip(query.get(key), MAX_UTM) for key in UTM_KEYS if query.get(key)}


def utm_from_url(url: str) -> dict[str, str]:
    query = {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}
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
        "path": clip(request.get_full_path(), MAX_URL),
        "referrer": clip(request.META.get("HTTP_REFERER"), MAX_URL),
        "device": device_class(request.META.get("HTTP_USER_AGENT", "")),
        "country": country_of(request),
        "ip": client_ip(request),
    }
    details.update(utm_from_query(request.GET))
    return details
