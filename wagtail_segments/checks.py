"""System checks for the misconfigurations that would make tracking or tasks silently fail."""

from __future__ import annotations

import math
import os

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

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
        ("django_countries", "Add 'django_countries' to INSTALLED_APPS: its translations name the countries."),
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
            hint="Set Q_CLUSTER as docs/installation.md shows.",
            id="wagtail_segments.W001",
        ))
    else:
        problems += q_cluster_problems(cluster)
    for alias in sorted({DEFAULT_DB_ALIAS, (cluster or {}).get("orm") or DEFAULT_DB_ALIAS}):
        if alias in connections.settings:
            problems += sqlite_problems(alias)
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



# django-q2 lets a task overrun its timeout by about 3.5 s before its guard kills the worker
# (3 s of buffer, checked every 0.5 s), and a killed worker takes a moment to be replaced.
OVERRUN_SECONDS = 5

# Brokers that hand a task out again when it is not acknowledged within ``retry`` seconds.
# Redis (the default when none of these is set) never does: a lost task is lost.
REDELIVERING_BROKERS = ("orm", "sqs", "mongo", "iron_mq", "disque", "broker_class")


def retry_needed(cluster: dict) -> int | None:
    """The smallest ``retry`` under which django-q2 never hands out a task that is still waiting
    or running in a cluster (None when ``timeout`` is not set: then no retry is enough).

    A cluster's pusher takes ``bulk`` tasks off the broker, starting their retry clock, and puts
    them in a local queue of ``queue_limit`` tasks (workers² by default) in front of its
    ``workers``. The last task fetched waits behind the tasks running now and up to
    ``queue_limit + bulk - 1`` fetched before it: it starts within
    ceil((queue_limit + bulk) / workers) rounds of ``timeout`` and ends one round later.
    """
    timeout = cluster.get("timeout")
    if not timeout:
        return None
    workers = int(cluster.get("workers") or os.cpu_count() or 4)
    queue_limit = int(cluster.get("queue_limit", workers**2) or workers**2)
    bulk = int(cluster.get("bulk", 1) or 1)
    rounds = math.ceil((queue_limit + bulk) / workers) + 1
    return rounds * (int(timeout) + OVERRUN_SECONDS)


def q_cluster_problems(cluster: dict) -> list[CheckMessage]:
    """``retry`` against ``timeout`` (E004) and against how long a fetched task can wait (E006)."""
    problems: list[CheckMessage] = []
    timeout, retry = cluster.get("timeout"), cluster.get("retry", 60)
    if timeout is not None and retry is not None and retry <= timeout:
        problems.append(Error(
            f"Q_CLUSTER retry ({retry}) is not above its timeout ({timeout}).",
            hint="A task still running when retry comes round is run a second time; set retry above timeout.",
            id="wagtail_segments.E004",
        ))
    if not any(key in cluster for key in REDELIVERING_BROKERS):
        return problems
    needed = retry_needed(cluster)
    if needed is None:
        problems.append(Error(
            "Q_CLUSTER has no timeout, so a slow task is handed out again while it still runs.",
            hint='Set "timeout" and a "retry" that the check accepts (docs/installation.md).',
            id="wagtail_segments.E006",
        ))
    elif retry is None or retry < needed:
        problems.append(Error(
            f"Q_CLUSTER retry ({retry}) is below {needed} s, the longest a task fetched by a "
            "cluster can wait in its queue and run.",
            hint="The broker hands such a task out again and it runs twice. Raise retry to "
            f"{needed} or lower queue_limit (docs/installation.md#q_cluster).",
            id="wagtail_segments.E006",
        ))
    return problems


def sqlite_problems(alias: str) -> list[CheckMessage]:
    """A SQLite database that a worker writes beside the web server needs immediate transactions
    (E007) and the WAL journal (W004), else writers fail with "database is locked".

    The transaction mode is a connection option, read from the settings. The journal mode is a
    state of the database file, kept once set: it is read from the database itself
    (``PRAGMA journal_mode``), which sees a file switched to WAL by hand as well as by
    ``init_command``, and a typo in ``init_command`` that SQLite ignores. An in-memory database
    (the test run) cannot be shared with a worker and is not checked; nor is one that cannot
    be opened, which ``migrate`` will report better.
    """
    connection = connections[alias]
    if connection.vendor != "sqlite":
        return []
    problems: list[CheckMessage] = []
    options = connection.settings_dict.get("OPTIONS") or {}
    if str(options.get("transaction_mode", "")).upper() != "IMMEDIATE":
        problems.append(Error(
            f"The SQLite database {alias!r} does not use immediate transactions.",
            hint='Add "transaction_mode": "IMMEDIATE" to its OPTIONS (docs/installation.md#sqlite): '
            "without it the worker and the web server fail each other's writes.",
            id="wagtail_segments.E007",
        ))
    if connection.is_in_memory_db():
        return problems
    was_closed = connection.connection is None
    try:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode")
            journal_mode = cursor.fetchone()[0]
    except DatabaseError:
        return problems
    finally:
        if was_closed:
            connection.close()
    if journal_mode.lower() != "wal":
        problems.append(Warning(
            f"The SQLite database {alias!r} uses the {journal_mode!r} journal, not WAL.",
            hint='Add "init_command": "PRAGMA journal_mode=WAL;" to its OPTIONS '
            "(docs/installation.md#sqlite): readers then never wait for the worker's writes.",
            id="wagtail_segments.W004",
        ))
    return problems
