"""Real django-q2 workers for end-to-end tests and benchmarks.

``Cluster`` starts ``manage.py qcluster`` as a child process (settings: tests/qcluster_settings.py)
against the database the test process uses, so what the test writes the worker reads and the
other way round. ``shared_database`` makes that possible: on PostgreSQL the test database is
already a server the child can reach; SQLite's in-memory test database is copied into a file
(WAL) in a temporary directory and the test's connection is pointed at it for the test, then
pointed back (the in-memory database stays as it was). Tests need
``pytest.mark.django_db(transaction=True)``: the child only sees committed rows.

The child is its own process group: ``stop()`` sends SIGTERM to its main process only (signalling
the whole group can hang qcluster's shutdown, django-q2 issue #346), ``kill()`` sends SIGKILL to
the whole group, as when a machine dies. Its output goes to a log file, shown when a wait fails.

The broker is the ORM (the site's database) or Redis; the test process must enqueue into the
same queue, under the same cluster name (the queue's key and its signing salt):
``Cluster.use_in_this_process()`` points django-q2's configuration here at the child's.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("WSG_TEST_REDIS", "redis://127.0.0.1:6379/0")
_names = itertools.count(1)


def wait_until(predicate: Callable[[], object], timeout: float, message: str = "", interval: float = 0.05,
               cluster: "Cluster | None" = None):
    """Poll ``predicate`` until it returns something true; returns it. On timeout, fails with
    ``message`` and the worker's log."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            log = cluster.log_tail() if cluster else ""
            raise AssertionError(f"waited {timeout:g}s: {message or predicate}\n{log}")
        time.sleep(interval)


def database_for_child() -> str:
    """What the child's settings take as WSG_QCLUSTER_DATABASE: the test connection's database."""
    s = connection.settings_dict
    if connection.vendor == "postgresql":
        auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
        return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    if connection.vendor == "sqlite":
        return s["NAME"]
    raise NotImplementedError(connection.vendor)


@contextmanager
def shared_database(directory: Path) -> Iterator[str]:
    """The test's database where a child process can open it; yields WSG_QCLUSTER_DATABASE."""
    if connection.vendor != "sqlite" or not connection.is_in_memory_db():
        yield database_for_child()
        return
    connection.ensure_connection()
    path = str(directory / "shared.sqlite3")
    target = sqlite3.connect(path)
    connection.connection.backup(target)
    target.execute("PRAGMA journal_mode=WAL")
    target.close()
    saved_name, saved_raw = connection.settings_dict["NAME"], connection.connection
    connection.connection = None  # set aside, not closed: closing would destroy the in-memory database
    connection.settings_dict["NAME"] = path
    try:
        yield path
    finally:
        connection.close()
        connection.settings_dict["NAME"], connection.connection = saved_name, saved_raw


class Cluster:
    """One ``qcluster`` child. ``segments`` overrides WAGTAIL_SEGMENTS keys in the child only;
    ``q`` overrides Q_CLUSTER keys (the example site's: 2 workers, poll 1 s)."""

    def __init__(self, database: str, log_dir: Path, *, broker: str = "orm", name: str | None = None,
                 segments: dict | None = None, q: dict | None = None, settings: str = "tests.qcluster_settings",
                 smtp_port: int | None = None):
        assert broker in ("orm", "redis")
        self.database, self.broker = database, broker
        self.name = name or f"wsg_e2e_{os.getpid()}_{next(_names)}"
        self.segments, self.q, self.settings = segments or {}, q or {}, settings
        self.smtp_port = smtp_port  # the child's EMAIL_BACKEND: SMTP to 127.0.0.1 on this port
        self.log_path = Path(log_dir) / f"{self.name}-{time.monotonic_ns()}.log"
        self.process: subprocess.Popen | None = None

    def environment(self) -> dict:
        env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "Q_CLUSTER_NAME")}
        env.update({
            "DJANGO_SETTINGS_MODULE": self.settings,
            "PYTHONPATH": os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
            "WSG_QCLUSTER_DATABASE": self.database,
            "WSG_QCLUSTER_BROKER": self.broker,
            "WSG_QCLUSTER_NAME": self.name,
            "WSG_QCLUSTER_REDIS": REDIS_URL,
            "WSG_QCLUSTER_Q": json.dumps(self.q),
            "WSG_QCLUSTER_SEGMENTS": json.dumps(self.segments),
            "PYTHONUNBUFFERED": "1",
        })
        if self.smtp_port:
            env["WSG_QCLUSTER_SMTP_PORT"] = str(self.smtp_port)
        return env

    def start(self, ready_timeout: float = 30) -> "Cluster":
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "django", "qcluster"], cwd=ROOT, env=self.environment(),
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        log.close()
        wait_until(lambda: "running." in self.log_text() or self.process.poll() is not None,
                   ready_timeout, "the cluster to start", interval=0.1, cluster=self)
        if self.process.poll() is not None:
            raise AssertionError(f"qcluster exited with {self.process.returncode}\n{self.log_tail()}")
        return self

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 60) -> str:
        return "--- qcluster log ---\n" + "\n".join(self.log_text().splitlines()[-lines:])

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM to the main process; SIGKILL to the group if it has not stopped in time."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        self._reap_group()

    def kill(self) -> None:
        """SIGKILL to every process of the cluster at once: nothing gets to clean up."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(10)
        self._reap_group()

    def _reap_group(self) -> None:
        try:  # workers orphaned by a main process that stopped first
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    @contextmanager
    def use_in_this_process(self) -> Iterator[None]:
        """Tasks queued by this process (async_task) go to this cluster's queue."""
        from django_q.conf import Conf

        names = ("CLUSTER_NAME", "PREFIX", "ORM", "REDIS")
        saved = {name: getattr(Conf, name) for name in names}
        Conf.CLUSTER_NAME = Conf.PREFIX = self.name
        if self.broker == "redis":
            Conf.ORM, Conf.REDIS = None, REDIS_URL
        try:
            yield
        finally:
            for name, value in saved.items():
                setattr(Conf, name, value)
            if self.broker == "redis":
                self.purge_redis()

    def purge_redis(self) -> None:
        import redis

        client = redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"*{self.name}*"):
            client.delete(key)

    def wake_engine(self) -> None:
        """Queue the campaign engine's loop as the app does (an entry's wake-up): a started
        cluster's scheduler first looks at the schedules 30 s after it starts."""
        from wagtail_segments.campaigns.wakeup import wake_engine

        wake_engine()

    def __enter__(self) -> "Cluster":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@contextmanager
def running(database: str, log_dir: Path, **kwargs) -> Iterator[Cluster]:
    """A started cluster that this process queues tasks to; stopped at the end."""
    cluster = Cluster(database, log_dir, **kwargs)
    with cluster.use_in_this_process():
        with cluster:
            yield cluster


# ----------------------------------------------------------------- steps the e2e tests use


def side_effect_step(path: Path, sleep: float = 0) -> tuple[str, dict]:
    """An action step acting outside the database (a file): the stand-in for an email."""
    return ("action", {"action": "e2e_record", "path": str(path), "sleep": sleep})


def email_step(subject: str = "Welcome") -> tuple[str, dict]:
    """A ``send_email`` step with a new message (merge fields in its subject and body); the
    worker sends it through the SMTP server named by ``Cluster(smtp_port=…)``."""
    from tests import factories

    message = factories.email_message(subject=subject + ", {{ first_name|default:\"friend\" }}")
    return ("action", {"action": "send_email", "message": message.pk})


def recorded_runs(path: Path) -> list[int]:
    """The run ids the side-effect action recorded, one per execution, in order."""
    if not Path(path).exists():
        return []
    return [int(line.split()[0]) for line in Path(path).read_text().splitlines() if line.strip()]
