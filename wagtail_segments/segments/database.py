"""The sessions the segment engine's queries run in.

PostgreSQL planner settings, for the engine's own transactions only (``SET LOCAL``: they end
with the transaction, or with the host's when the engine runs inside one). Each was measured
at 1M contacts / 10M events (docs/scaling.md).

Every engine query (``segment_queries``): JIT off. PostgreSQL compiles a query to machine
code once its estimated cost passes ``jit_above_cost``; at a million contacts every segment
query does, and the compile costs 50–100 ms for a query that then runs in a second or less.

The live preview's count (``preview_queries``), where an editor waits, also:

- groups by sorting, not hashing (``enable_hashagg`` off). "At least N views" groups a
  window's events by contact: hundreds of thousands of groups of a few rows each. Filling a
  hash table that size cost more than sorting the contact ids and counting runs: the
  five-rule segment's count took 30 % less CPU, and none of the benchmark's fifty segments
  got slower (the planner's cost model does not see the difference);
- has at least ``PREVIEW_WORK_MEM`` of ``work_mem``, so that sort fits in memory instead of
  spilling to temporary files (a host's larger setting is kept).

A rebuild's query gains as much from both (its first build of the five-rule segment took
20 % less CPU), but its writes do not; with the hand-written SQL it is measured against
sped up alike, its ratio to that SQL rose past its target (docs/scaling.md, "What bounds
the preview"), so the rebuild keeps the plain session for now.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from django.db import connection, transaction

PREVIEW_WORK_MEM = "32MB"

# One statement, one round trip each; set_config(name, value, true) is SET LOCAL.
ENGINE_SETTINGS = "SELECT set_config('jit', 'off', true)"
PREVIEW_SETTINGS = (
    "SELECT set_config('jit', 'off', true), set_config('enable_hashagg', 'off', true), "
    "CASE WHEN pg_size_bytes(current_setting('work_mem')) < pg_size_bytes(%s) "
    "THEN set_config('work_mem', %s, true) END"
)


@contextmanager
def segment_queries() -> Iterator[None]:
    """A transaction with the engine's planner settings (they end with it)."""
    with _session(ENGINE_SETTINGS, []):
        yield


@contextmanager
def preview_queries(*, statement_timeout_ms: int | None = None) -> Iterator[None]:
    """A transaction with the live preview's planner settings (they end with it).

    ``statement_timeout_ms`` (PostgreSQL; ignored elsewhere) stops each statement of the block
    after that long, with a QueryCanceled error: the admin's time limit. It is set by the
    same statement as the planner settings, so the guard costs no round trip of its own;
    inside a longer transaction of the host's (``ATOMIC_REQUESTS``) the host's timeout is
    put back after the block, and when the block fails its savepoint's rollback puts it back.
    """
    with _session(PREVIEW_SETTINGS, [PREVIEW_WORK_MEM, PREVIEW_WORK_MEM], statement_timeout_ms):
        yield


@contextmanager
def _session(sql: str, params: list, statement_timeout_ms: int | None = None) -> Iterator[None]:
    outer = connection.in_atomic_block
    with transaction.atomic():
        if connection.vendor != "postgresql":
            yield
            return
        previous = None
        with connection.cursor() as cursor:
            if statement_timeout_ms is not None:
                if outer:
                    cursor.execute("SHOW statement_timeout")
                    previous = cursor.fetchone()[0]
                sql += ", set_config('statement_timeout', %s, true)"
                params = [*params, str(int(statement_timeout_ms))]
            cursor.execute(sql, params)
        yield
        if previous is not None:
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('statement_timeout', %s, true)", [previous])
