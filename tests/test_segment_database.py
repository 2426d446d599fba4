"""The sessions the engine's queries run in (segments/database.py): planner settings for the
engine's own transactions, ended with them, never less memory than the host gave, and the
preview's time limit. PostgreSQL only: on SQLite the engine's queries run in a plain
transaction."""

import pytest
from django.db import OperationalError, connection, transaction

from tests.concurrency import postgresql_only
from wagtail_segments.segments.database import preview_queries, segment_queries

SETTINGS = ("jit", "enable_hashagg", "work_mem")


def current() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, current_setting(name) FROM unnest(%s::text[]) AS name", [list(SETTINGS)])
        return dict(cursor.fetchall())


def statement_timeout() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        return cursor.fetchone()[0]


@pytest.fixture
def host_work_mem():
    """Set the connection's own work_mem as a host would, and put it back afterwards."""
    def set_to(value: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('work_mem', %s, false)", [value])

    yield set_to
    with connection.cursor() as cursor:
        cursor.execute("RESET work_mem")


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_the_preview_groups_by_sorting_in_memory_and_the_host_settings_come_back(host_work_mem):
    host_work_mem("4MB")
    before = current()
    with preview_queries():
        assert current() == {"jit": "off", "enable_hashagg": "off", "work_mem": "32MB"}
    assert current() == before
    with segment_queries():
        assert current() == {**before, "jit": "off"}
    assert current() == before


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_host_work_mem_larger_than_the_previews_is_kept(host_work_mem):
    host_work_mem("256MB")
    with preview_queries():
        assert current()["work_mem"] == "256MB"


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_time_limit_lasts_for_the_previews_transaction_alone():
    host = statement_timeout()
    with preview_queries(statement_timeout_ms=100):
        assert statement_timeout() == "100ms"
        with pytest.raises(OperationalError), connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(1)")
    assert statement_timeout() == host


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_inside_a_host_transaction_the_hosts_time_limit_comes_back():
    """Under ATOMIC_REQUESTS the preview's block is a savepoint of the host's transaction:
    the host's timeout is put back after it, whether its query finished or was stopped."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = '5s'")
        with preview_queries(statement_timeout_ms=100):
            assert statement_timeout() == "100ms"
        assert statement_timeout() == "5s"
        with pytest.raises(OperationalError), preview_queries(statement_timeout_ms=100), connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(1)")
        assert statement_timeout() == "5s"
