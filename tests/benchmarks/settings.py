"""Settings of a benchmark run: the example site, on the database the runner made for it.

``WSG_BENCH_DATABASE`` is a database URL (``postgres://…/wsg_bench_123``) or the path of a
SQLite file. SQLite gets the example site's production options (WAL, synchronous=NORMAL,
immediate transactions), so measurements see what a site would (the data generator's own
connection relaxes synchronous to OFF, as a bulk load would).

Migrations are not replayed: the schema is created from the models (``migrate --run-syncdb``
with migrations disabled, as Django's test runner does with ``MIGRATE: False``). Replaying
Wagtail's 200-odd migrations costs 20-40 s of CPU, a quick run must finish in a minute, and
``makemigrations --check`` in CI keeps the models and migrations the same schema
(wagtail_segments' migrations hold no RunSQL). ``--migrate`` replays them instead.
"""

import os

import dj_database_url

from example_site.settings import *  # noqa: F401,F403
from example_site.settings import SQLITE_OPTIONS

_target = os.environ.get("WSG_BENCH_DATABASE", "")
if "://" in _target:
    DATABASES = {"default": dj_database_url.parse(_target, conn_max_age=None)}
else:
    _options = dict(SQLITE_OPTIONS)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": _target or ":memory:",
            "OPTIONS": _options,
            "CONN_MAX_AGE": None,
        }
    }


class _NoMigrations(dict):
    """MIGRATION_MODULES that says "no migrations" for every app."""

    def __contains__(self, key):
        return True

    def __getitem__(self, key):
        return None


if os.environ.get("WSG_BENCH_MIGRATE") != "1":
    MIGRATION_MODULES = _NoMigrations()

DEBUG = False
ALLOWED_HOSTS = ["*"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
LOGGING = {"version": 1, "disable_existing_loggers": False,
           "loggers": {"wagtail_segments": {"level": "WARNING"}, "django-q": {"level": "WARNING"}}}
Q_CLUSTER = {**Q_CLUSTER, "log_level": "WARNING"}  # noqa: F405
# A dict the harness switches in place (no setting_changed signal between timed requests).
WAGTAIL_SEGMENTS = {
    "COUNTRY_HEADER": "HTTP_CF_IPCOUNTRY",
    "PAGE_VIEWS": "server",
    "INJECT_BEACON": False,
}
