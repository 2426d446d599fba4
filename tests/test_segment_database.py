"""The session the engine's queries run in (segments/database.py): planner settings for the
engine's own transactions, ended with them, and never less memory than the host gave.
PostgreSQL only: on SQLite the engine's queries run in a plain transaction."""

import pytest
from django.db import connection

from tests.concurrency import postgresql_only
from wagtail_segments.segments.database import segment_queries

SETTINGS = ("jit", "enable_hashagg", "work_mem")


def current() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, current_setting(name) FROM unnest(%s::text[]) AS name", [list(SETTINGS)])
        return dict(cursor.fetchall())


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
def test_engine_queries_group_by_sorting_in_memory_and_the_host_settings_come_back(host_work_mem):
    host_work_mem("4MB")
    before = current()
    with segment_queries():
        assert current() == {"jit": "off", "enable_hashagg": "off", "work_mem": "32MB"}
    assert current() == before


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_host_work_mem_larger_than_the_engines_is_kept(host_work_mem):
    host_work_mem("256MB")
    with segment_queries():
        assert current()["work_mem"] == "256MB"
