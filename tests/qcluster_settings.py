"""Settings of a real ``qcluster`` child started by tests/qcluster.py (tests and benchmarks).

The parent passes everything through the environment: the database it uses itself
(``WSG_QCLUSTER_DATABASE``: a URL, or the path of a SQLite file), the broker and the cluster's
name (``WSG_QCLUSTER_BROKER`` "orm" or "redis", ``WSG_QCLUSTER_NAME``: the name is the queue's
key and the salt of its signed tasks, so parent and child must agree), extra ``Q_CLUSTER``
keys (``WSG_QCLUSTER_Q``, JSON) and ``WAGTAIL_SEGMENTS`` overrides (``WSG_QCLUSTER_SEGMENTS``,
JSON). Everything else is the example site's configuration, as a site would run it.
"""

import json
import os

import dj_database_url

from tests.settings import *  # noqa: F401,F403
from tests.settings import INSTALLED_APPS, Q_CLUSTER, WAGTAIL_SEGMENTS
from example_site.settings import SQLITE_OPTIONS

_database = os.environ["WSG_QCLUSTER_DATABASE"]
if "://" in _database:
    DATABASES = {"default": dj_database_url.parse(_database)}
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": _database,
                             "OPTIONS": dict(SQLITE_OPTIONS)}}

INSTALLED_APPS = [*INSTALLED_APPS, "tests.e2e_app.E2EActions"]

Q_CLUSTER = {**Q_CLUSTER, "name": os.environ.get("WSG_QCLUSTER_NAME", Q_CLUSTER["name"]), "log_level": "INFO"}
if os.environ.get("WSG_QCLUSTER_BROKER") == "redis":
    Q_CLUSTER.pop("orm", None)
    Q_CLUSTER["redis"] = os.environ.get("WSG_QCLUSTER_REDIS", "redis://127.0.0.1:6379/0")
Q_CLUSTER.update(json.loads(os.environ.get("WSG_QCLUSTER_Q", "{}")))

if os.environ.get("WSG_QCLUSTER_SMTP_PORT"):  # the test's aiosmtpd sink (tests/smtp.py)
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST, EMAIL_PORT = "127.0.0.1", int(os.environ["WSG_QCLUSTER_SMTP_PORT"])

WAGTAIL_SEGMENTS = {**WAGTAIL_SEGMENTS, **json.loads(os.environ.get("WSG_QCLUSTER_SEGMENTS", "{}"))}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"wagtail_segments": {"handlers": ["console"], "level": "INFO"}},
}
