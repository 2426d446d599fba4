"""The app's settings: one ``WAGTAIL_SEGMENTS`` dict, read here and nowhere else.

Every key and its default is listed in ``DEFAULTS`` and documented in docs/settings.md.
Values are read on each access so that ``override_settings`` works in tests.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings as django_settings
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

DEFAULTS: dict[str, Any] = {
    # Identity cookie
    "COOKIE_NAME": "wsg_contact",
    "COOKIE_MAX_AGE_DAYS": 365,
    "COOKIE_SECURE": None,  # None: secure when the request is
    "COOKIE_DOMAIN": None,
    # What is tracked
    "PAGE_VIEWS": "server",  # "server", "beacon" (cached/CDN sites) or "off"
    "INJECT_BEACON": True,
    "TRACK_STAFF": False,
    "HONOUR_DNT": True,
    "CONSENT_CHECK": None,  # dotted path to callable(request) -> bool
    "BOT_USER_AGENTS": [
        "bot", "crawl", "spider", "slurp", "facebookexternalhit", "embedly", "preview",
        "headless", "lighthouse", "pingdom", "uptime", "monitor", "curl", "wget",
        "python-requests", "python-urllib", "httpx", "go-http-client", "java/", "okhttp",
        "libwww", "scrapy", "feedfetcher", "mediapartners", "bingpreview",
    ],
    "EXCLUDED_PATH_PREFIXES": ["/admin/", "/django-admin/", "/static/", "/media/"],
    # Request details kept on events
    "IP_HEADER": "REMOTE_ADDR",  # or the header the site's proxies append to, e.g. HTTP_X_FORWARDED_FOR
    "TRUSTED_PROXIES": 1,  # proxies that append to IP_HEADER, or a list of their networks (CIDR)
    "STORE_IP": True,
    "ANONYMISE_IP": True,
    "COUNTRY_FUNCTION": "wagtail_segments.tracking.country.country_from_header",
    "COUNTRY_HEADER": "HTTP_CF_IPCOUNTRY",
    # Forms
    "FORM_FIELD_MAPPING": {
        "first_name": "first_name", "firstname": "first_name", "given_name": "first_name",
        "last_name": "last_name", "lastname": "last_name", "surname": "last_name",
        "family_name": "last_name",
        "phone": "phone", "telephone": "phone", "phone_number": "phone", "mobile": "phone",
        "company": "company", "organisation": "company", "organization": "company",
    },
    # Beacon
    "BEACON_PATH": "/_segments/beacon/",
    "BEACON_MAX_BYTES": 4096,
    "BEACON_RATE_LIMIT": 120,  # beacon events per contact (else per client address) per minute
    "BEACON_CUSTOM_KINDS": [],  # extra event kinds site scripts may send besides "custom"
    # PostgreSQL: commit tracked events without waiting for the WAL flush
    "TRACKING_ASYNC_COMMIT": True,
    # Background work
    "PROCESS_EVENTS_DELAY_SECONDS": 5,
    "PROCESS_EVENTS_GAP_SECONDS": 600,  # how long the pass waits for an event id still uncommitted
    "PROCESS_EVENTS_REQUEUE_SECONDS": 300,  # a queued pass not started by then is queued again
    "SEGMENT_REBUILD_MINUTES": 15,
    "RETENTION_DAYS": 395,
    "RETENTION_BATCH_SIZE": 5000,
    # Campaign engine
    "CAMPAIGN_BATCH_SIZE": 100,  # due runs one worker claims at a time
    "CAMPAIGN_LEASE_SECONDS": 300,  # a claimed run not moved by then is claimed again
    "CAMPAIGN_MAX_ATTEMPTS": 5,  # failed attempts at a step before the run fails
    "CAMPAIGN_RETRY_SECONDS": 60,  # the first retry's delay, doubled after each failure
    "CAMPAIGN_LOOP_SECONDS": 55,  # how long the engine's loop keeps watching for due runs
    "CAMPAIGN_FAILURE_PAUSE_THRESHOLD": 50,  # failed steps in an hour that pause a campaign; 0: never
    # Campaign webhooks
    "WEBHOOK_SECRET": None,  # signs webhook bodies (HMAC-SHA256); None: a webhook step needs its own
    "WEBHOOK_SECRETS": {},  # named secrets a webhook step may choose by name
    "WEBHOOK_TIMEOUT_SECONDS": 10,
    "WEBHOOK_ALLOW_PRIVATE_ADDRESSES": False,  # True: webhooks may call loopback, private, link-local… addresses
    # Admin
    "ADMIN_PREVIEW_TIMEOUT_MS": 800,  # a segment preview counts for this long, then says "still counting"
    "ADMIN_BULK_TASK_THRESHOLD": 1000,  # bulk actions on more contacts than this run as a task
    # Messaging
    "PUBLIC_BASE_URL": None,  # start of the links in messages; None: the default site's root URL
    "DOUBLE_OPT_IN_FIELD": None,  # a form field name; ticked: the submitter is sent a confirmation email
    "CONFIRMATION_FROM_EMAIL": None,  # sender of confirmation emails; None: DEFAULT_FROM_EMAIL
    # SMS
    "SMS_BACKEND": "wagtail_segments.messaging.sms.console.ConsoleSmsBackend",
    "SMS_DEFAULT_REGION": None,  # e.g. "GB": the country of numbers written without +country
    "SMS_FROM": None,  # the sender name or number; None: the backend's default
    "SMS_FREQUENCY_CAP": None,  # at most this many marketing texts per contact per …
    "SMS_FREQUENCY_CAP_DAYS": 7,  # … this many days, across all campaigns; None: no cap
    "SMS_INBOUND_TOKEN": None,  # the secret at the end of the inbound webhook URL; None: no token passes
    "SMS_INBOUND_MAX_BYTES": 65536,  # a larger inbound webhook request is refused (400)
    # Email (docs/messaging.md, "Email")
    "EMAIL_TEMPLATE": "wagtail_segments/messaging/email.html",  # the layout around every email
    "EMAIL_TEXT_FOOTER_TEMPLATE": "wagtail_segments/messaging/email_footer.txt",
    "EMAIL_UNSUBSCRIBE_MAILTO": None,  # an address for List-Unsubscribe's mailto; None: https only
    "EMAIL_FREQUENCY_CAP": None,  # at most this many marketing emails per contact per …
    "EMAIL_FREQUENCY_CAP_DAYS": 7,  # … this many days, across all campaigns; None: no cap
    "EMAIL_RATE_LIMITS": {},  # {backend dotted path or "*": {"per_second": N, "per_hour": M}}
    "EMAIL_RATE_LIMIT_CACHE": "default",  # the cache that holds the rate limit's counts
    "EMAIL_MACHINE_OPEN_USER_AGENTS": [  # regular expressions (case-insensitive) of proxy opens
        r"^Mozilla/5\.0$",  # Apple Mail Privacy Protection fetches with this bare agent
        r"^$",
        r"barracuda|mimecast|proofpoint|symantec|messagelabs|trendmicro|forcepoint",
    ],
    "EMAIL_MACHINE_OPEN_SECONDS": 2,  # an open this soon after sending is a machine's
}


class SegmentsSettings:
    """Attribute access to WAGTAIL_SEGMENTS with defaults, e.g. ``conf.settings.COOKIE_NAME``."""

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"Unknown WAGTAIL_SEGMENTS setting: {name}")
        user = getattr(django_settings, "WAGTAIL_SEGMENTS", {}) or {}
        return user.get(name, DEFAULTS[name])

    def callable(self, name: str):
        """The callable a dotted-path setting names, or None when the setting is empty."""
        path = getattr(self, name)
        if not path:
            return None
        if callable(path):
            return path
        return _import_cached(path)


_imports: dict[str, Any] = {}


def _import_cached(path: str):
    if path not in _imports:
        _imports[path] = import_string(path)
    return _imports[path]


def _clear_imports(**kwargs):
    _imports.clear()


setting_changed.connect(_clear_imports)

settings = SegmentsSettings()
