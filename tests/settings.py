"""Test settings: the example site, on SQLite unless TEST_DATABASE_URL names another database
(the CI run uses a PostgreSQL database it creates itself)."""

import os

import dj_database_url

from example_site.settings import *  # noqa: F401,F403
from example_site.settings import SQLITE_OPTIONS

if os.environ.get("TEST_DATABASE_URL"):
    DATABASES = {"default": dj_database_url.parse(os.environ["TEST_DATABASE_URL"])}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("TEST_SQLITE_NAME", ":memory:"),
            "OPTIONS": {k: v for k, v in SQLITE_OPTIONS.items() if k != "init_command"},
            "TEST": {"NAME": os.environ.get("TEST_SQLITE_NAME")},
        }
    }

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"  # not the demo's files
# Links in messages start with the default site's root URL, as on a site that sets nothing.
WAGTAIL_SEGMENTS = {k: v for k, v in WAGTAIL_SEGMENTS.items() if k != "PUBLIC_BASE_URL"}  # noqa: F405
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
LOGGING = {"version": 1, "disable_existing_loggers": False}
