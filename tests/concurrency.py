"""Two database connections at once, for tests of what another transaction holds open.

Each thread has its own connection in Django, so a helper thread is "another process": it
takes row locks or inserts without committing while the test's thread goes on. Only
PostgreSQL can show this: SQLite serialises writers (and ignores ``select_for_update``).
Tests that use it need ``pytest.mark.django_db(transaction=True)``, so both connections see
committed rows.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Callable, Iterator

import pytest
from django.db import connection, transaction

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite serialises writers: transactions cannot commit out of id order or hold row locks.",
)


@contextmanager
def in_open_transaction(work: Callable[[], object]) -> Iterator[object]:
    """Run ``work`` in a transaction of another connection and keep it open (its rows
    uncommitted, its locks held) until the block ends; then it commits."""
    started, finish = threading.Event(), threading.Event()
    result: dict = {}

    def run():
        try:
            with transaction.atomic():
                result["value"] = work()
                started.set()
                finish.wait(30)
        except BaseException as error:  # shown to the test below
            result["error"] = error
            started.set()
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(30), "the other connection did not start"
    if "error" in result:
        raise result["error"]
    try:
        yield result.get("value")
    finally:
        finish.set()
        thread.join(30)
