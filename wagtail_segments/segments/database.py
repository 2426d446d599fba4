"""The session the segment engine's queries run in.

PostgreSQL compiles a query to machine code (JIT) once its estimated cost passes
``jit_above_cost``; at a million contacts every segment query does, and the compile costs
50–100 ms for a query that then runs in a second or less (measured in docs/scaling.md). The
engine turns JIT off for its own transactions only; the host's other queries are untouched.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from django.db import connection, transaction


@contextmanager
def segment_queries() -> Iterator[None]:
    """A transaction with the engine's planner settings (``SET LOCAL``: they end with it)."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
        yield
