"""The session the segment engine's queries run in.

Three PostgreSQL planner settings, for the engine's own transactions only (``SET LOCAL``: they
end with the transaction, or with the host's when the engine runs inside one). Each was
measured at 1M contacts / 10M events (docs/scaling.md):

- JIT off. PostgreSQL compiles a query to machine code once its estimated cost passes
  ``jit_above_cost``; at a million contacts every segment query does, and the compile costs
  50–100 ms for a query that then runs in a second or less.
- Grouping by sorting, not hashing (``enable_hashagg`` off). "At least N views" groups a
  window's events by contact: hundreds of thousands of groups of a few rows each. Filling a
  hash table that size cost more than sorting the contact ids and counting runs: the
  five-rule segment's query took 30 % less CPU, and none of the benchmark's fifty segments
  got slower (the planner's cost model does not see the difference).
- At least ``SEGMENT_WORK_MEM`` of ``work_mem``, so that sort fits in memory instead of
  spilling to temporary files (a host's larger setting is kept).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from django.db import connection, transaction

SEGMENT_WORK_MEM = "32MB"

# One statement, one round trip; set_config(name, value, true) is SET LOCAL.
POSTGRES_SETTINGS = (
    "SELECT set_config('jit', 'off', true), set_config('enable_hashagg', 'off', true), "
    "CASE WHEN pg_size_bytes(current_setting('work_mem')) < pg_size_bytes(%s) "
    "THEN set_config('work_mem', %s, true) END"
)


@contextmanager
def segment_queries(*, statement_timeout_ms: int | None = None) -> Iterator[None]:
    """A transaction with the engine's planner settings (they end with it).

    ``statement_timeout_ms`` (PostgreSQL; ignored elsewhere) stops each statement of the block
    after that long, with a QueryCanceled error: the admin's live preview. It is set by the same statement as
    the planner settings, so the guard costs no round trip of its own; inside a longer
    transaction of the host's (``ATOMIC_REQUESTS``) the host's timeout is put back after the
    block, and when the block fails its savepoint's rollback puts it back.
    """
    outer = connection.in_atomic_block
    with transaction.atomic():
        if connection.vendor != "postgresql":
            yield
            return
        sql, params = POSTGRES_SETTINGS, [SEGMENT_WORK_MEM, SEGMENT_WORK_MEM]
        previous = None
        with connection.cursor() as cursor:
            if statement_timeout_ms is not None:
                if outer:
                    cursor.execute("SHOW statement_timeout")
                    previous = cursor.fetchone()[0]
                sql += ", set_config('statement_timeout', %s, true)"
                params.append(str(int(statement_timeout_ms)))
            cursor.execute(sql, params)
        yield
        if previous is not None:
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('statement_timeout', %s, true)", [previous])
