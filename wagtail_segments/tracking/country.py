"""Country of a request. The default reads a header set by a CDN or proxy (no database
download); a site points ``COUNTRY_FUNCTION`` at its own ``callable(request) -> "US" | ""``."""

from __future__ import annotations

from django.http import HttpRequest

from wagtail_segments.conf import settings as conf


def country_from_header(request: HttpRequest) -> str:
    value = request.META.get(conf.COUNTRY_HEADER, "").strip().upper()
    if len(value) == 2 and value.isalpha() and value not in {"XX", "T1"}:
        return value
    return ""


def country_of(request: HttpRequest) -> str:
    function = conf.callable("COUNTRY_FUNCTION")
    if function is None:
        return ""
    value = (function(request) or "").strip().upper()
    return value if len(value) == 2 and value.isalpha() else ""
