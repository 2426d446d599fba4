"""System checks for the misconfigurations that would make tracking or tasks silently fail."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from .conf import DEFAULTS, settings as conf

MIDDLEWARE = "wagtail_segments.tracking.middleware.TrackingMiddleware"


@register(Tags.compatibility)
def check_configuration(app_configs=None, **kwargs):
    problems = []
    installed = settings.INSTALLED_APPS
    for app, hint in (
        ("django_q", "Add 'django_q' to INSTALLED_APPS: segments and campaigns run as django-q2 tasks."),
        ("taggit", "Add 'taggit' to INSTALLED_APPS: contacts are tagged with django-taggit."),
        ("wagtail.contrib.forms", "Add 'wagtail.contrib.forms' to INSTALLED_APPS."),
        ("wagtail_modeladmin", "Add 'wagtail_modeladmin' to INSTALLED_APPS: the Marketing menu is built with it."),
    ):
        if app not in installed:
            problems.append(Error(f"{app} is not installed.", hint=hint, id="wagtail_segments.E001"))
    middleware = list(settings.MIDDLEWARE)
    if MIDDLEWARE not in middleware:
        problems.append(Error(
            "The tracking middleware is missing.",
            hint=f"Add '{MIDDLEWARE}' to MIDDLEWARE, after AuthenticationMiddleware.",
            id="wagtail_segments.E002",
        ))
    else:
        auth = "django.contrib.auth.middleware.AuthenticationMiddleware"
        if auth in middleware and middleware.index(auth) > middleware.index(MIDDLEWARE):
            problems.append(Error(
                "The tracking middleware comes before AuthenticationMiddleware.",
                hint="Move it after AuthenticationMiddleware so staff can be left untracked.",
                id="wagtail_segments.E003",
            ))
    cluster = getattr(settings, "Q_CLUSTER", None)
    if cluster is None:
        problems.append(Warning(
            "Q_CLUSTER is not set: django-q2 will try Redis on localhost.",
            hint='Set Q_CLUSTER, e.g. {"orm": "default", "timeout": 300, "retry": 360} (docs/installation.md).',
            id="wagtail_segments.W001",
        ))
    else:
        timeout, retry = cluster.get("timeout"), cluster.get("retry", 60)
        if timeout is not None and retry is not None and retry <= timeout:
            problems.append(Error(
                f"Q_CLUSTER retry ({retry}) is not above its timeout ({timeout}).",
                hint="A task still running when retry comes round is run a second time; set retry above timeout.",
                id="wagtail_segments.E004",
            ))
    if conf.PAGE_VIEWS not in ("server", "beacon", "off"):
        problems.append(Error(
            f"WAGTAIL_SEGMENTS['PAGE_VIEWS'] is {conf.PAGE_VIEWS!r}.",
            hint='Use "server", "beacon" or "off".', id="wagtail_segments.E005",
        ))
    if conf.COOKIE_MAX_AGE_DAYS > conf.RETENTION_DAYS:
        problems.append(Warning(
            "The contact cookie outlives event retention.",
            hint="A returning visitor's cookie could name a contact that retention deleted; keep "
            "COOKIE_MAX_AGE_DAYS at or below RETENTION_DAYS.", id="wagtail_segments.W003",
        ))
    unknown = set(getattr(settings, "WAGTAIL_SEGMENTS", {}) or {}) - set(DEFAULTS)
    if unknown:
        problems.append(Warning(
            f"Unknown WAGTAIL_SEGMENTS keys: {', '.join(sorted(unknown))}.",
            hint="See docs/settings.md for the keys.", id="wagtail_segments.W002",
        ))
    return problems

