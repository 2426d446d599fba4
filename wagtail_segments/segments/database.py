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
def segment_queries() -> Iterator[None]:
    """A transaction with the engine's planner settings (they end with it)."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(POSTGRES_SETTINGS, [SEGMENT_WORK_MEM, SEGMENT_WORK_MEM])
        yield
