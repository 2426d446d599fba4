"""System checks catch the misconfigurations that would make tracking or tasks fail quietly."""

import math
from types import SimpleNamespace

import pytest
from django.db import connections
from django.db.utils import load_backend
from django.test import override_settings

from wagtail_segments.checks import MIDDLEWARE, check_configuration, retry_needed, sqlite_problems

ORM = {"name": "site", "orm": "default", "workers": 2, "max_attempts": 3, "catch_up": False}


def ids(problems):
    return sorted(problem.id for problem in problems)


def test_the_example_site_is_configured_correctly():
    assert check_configuration() == []


def test_retry_not_above_timeout_is_an_error(settings):
    with override_settings(Q_CLUSTER={"redis": {"host": "127.0.0.1"}, "timeout": 300, "retry": 300}):
        assert ids(check_configuration()) == ["wagtail_segments.E004"]


def test_retry_above_timeout_is_not_enough_with_the_orm_broker():
    # The configuration that ran four of six 4-second tasks twice on two clusters.
    with override_settings(Q_CLUSTER={**ORM, "timeout": 5, "retry": 6}):
        assert ids(check_configuration()) == ["wagtail_segments.E006"]


def test_the_formerly_documented_cluster_is_refused_and_the_documented_one_accepted():
    with override_settings(Q_CLUSTER={**ORM, "timeout": 300, "retry": 360}):
        assert ids(check_configuration()) == ["wagtail_segments.E006"]
    with override_settings(Q_CLUSTER={**ORM, "queue_limit": 2, "timeout": 300, "retry": 960}):
        assert check_configuration() == []


def test_an_orm_cluster_without_timeout_is_an_error():
    with override_settings(Q_CLUSTER={**ORM, "retry": 100_000}):
        assert ids(check_configuration()) == ["wagtail_segments.E006"]


def test_redis_never_hands_a_task_out_again_so_retry_above_timeout_is_enough():
    with override_settings(Q_CLUSTER={"redis": {}, "workers": 2, "timeout": 300, "retry": 360}):
        assert check_configuration() == []


def longest_wait_and_run(workers, queue_limit, bulk, duration, tasks=60):
    """Seconds from fetch to finish of the slowest of ``tasks`` equal tasks, replaying django-q2's
    cluster: the pusher takes ``bulk`` tasks off the broker (their retry clock starts), then
    blocks putting them into a FIFO queue of ``queue_limit``; each worker takes the next task
    when it is free."""
    worker_free = [0.0] * workers
    queued = []  # start times of tasks in the local queue, oldest first
    fetched_at, now, longest, done = {}, 0.0, 0.0, 0
    while done < tasks:
        batch = list(range(done, min(done + bulk, tasks)))
        for task in batch:
            fetched_at[task] = now
        for task in batch:
            if len(queued) == queue_limit:  # put() blocks until a worker takes the oldest
                worker = min(range(workers), key=worker_free.__getitem__)
                start = max(worker_free[worker], queued[0][1])
                worker_free[worker] = start + duration
                first, _ = queued.pop(0)
                longest = max(longest, start + duration - fetched_at[first])
                now = max(now, start)
            queued.append((task, now))
        done += len(batch)
    for task, put_at in queued:
        worker = min(range(workers), key=worker_free.__getitem__)
        start = max(worker_free[worker], put_at)
        worker_free[worker] = start + duration
        longest = max(longest, start + duration - fetched_at[task])
    return longest


@pytest.mark.parametrize("workers,queue_limit,bulk", [(1, 1, 1), (2, 2, 1), (2, 4, 1), (4, 16, 1), (3, 2, 5)])
def test_retry_needed_covers_the_last_task_a_cluster_fetches(workers, queue_limit, bulk):
    timeout = 100
    cluster = {"workers": workers, "queue_limit": queue_limit, "bulk": bulk, "timeout": timeout}
    longest = longest_wait_and_run(workers, queue_limit, bulk, duration=timeout)
    rounds = math.ceil((queue_limit + bulk) / workers) + 1
    assert longest == rounds * timeout  # the bound is reached: a smaller retry is not safe
    assert retry_needed(cluster) > longest


def sqlite_database(name, **options):
    """A connection to a SQLite file of its own, configured like a site's ``default``."""
    settings_dict = connections.configure_settings(
        {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(name), "OPTIONS": options}}
    )["default"]
    return load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, "default")


@pytest.fixture
def site_database(monkeypatch):
    def use(connection):
        monkeypatch.setattr("wagtail_segments.checks.connections", {"default": connection})
    return use


@pytest.mark.django_db
def test_sqlite_without_immediate_transactions_or_wal_is_reported(tmp_path, site_database):
    site_database(sqlite_database(tmp_path / "db.sqlite3"))
    assert ids(sqlite_problems("default")) == ["wagtail_segments.E007", "wagtail_segments.W004"]


@pytest.mark.django_db
def test_sqlite_with_the_documented_options_passes(tmp_path, site_database):
    site_database(sqlite_database(
        tmp_path / "db.sqlite3", init_command="PRAGMA journal_mode=WAL;", transaction_mode="IMMEDIATE", timeout=20,
    ))
    assert sqlite_problems("default") == []


@pytest.mark.django_db
def test_a_sqlite_file_switched_to_wal_by_hand_needs_no_init_command(tmp_path, site_database):
    sqlite_database(tmp_path / "db.sqlite3", init_command="PRAGMA journal_mode=WAL;").cursor().close()
    site_database(sqlite_database(tmp_path / "db.sqlite3", transaction_mode="immediate"))
    assert sqlite_problems("default") == []


def test_missing_django_q_and_middleware_are_errors(settings, monkeypatch):
    # The settings object is swapped, not overridden: changing INSTALLED_APPS reloads apps.
    site = SimpleNamespace(
        INSTALLED_APPS=[app for app in settings.INSTALLED_APPS if app != "django_q"],
        MIDDLEWARE=[m for m in settings.MIDDLEWARE if m != MIDDLEWARE],
        Q_CLUSTER=settings.Q_CLUSTER,
    )
    monkeypatch.setattr("wagtail_segments.checks.settings", site)
    assert ids(check_configuration()) == ["wagtail_segments.E001", "wagtail_segments.E002"]


def test_middleware_before_authentication_is_an_error(settings):
    middleware = [MIDDLEWARE] + [m for m in settings.MIDDLEWARE if m != MIDDLEWARE]
    with override_settings(MIDDLEWARE=middleware):
        assert ids(check_configuration()) == ["wagtail_segments.E003"]


def test_unknown_keys_and_bad_values_are_reported():
    with override_settings(WAGTAIL_SEGMENTS={"PAGE_VIEWS": "sometimes", "COOKY_NAME": "x"}):
        assert ids(check_configuration()) == ["wagtail_segments.E005", "wagtail_segments.W002"]


def test_cookie_outliving_retention_is_a_warning():
    with override_settings(WAGTAIL_SEGMENTS={"COOKIE_MAX_AGE_DAYS": 400, "RETENTION_DAYS": 30}):
        assert ids(check_configuration()) == ["wagtail_segments.W003"]
