"""What the database would do with a query, for tests that pin an index to the query it serves.

On a test-sized table PostgreSQL rightly prefers a sequential scan, so the plan is asked with
sequential scans priced out (``enable_seqscan`` off, then reset): an index then appears in it
only if its columns and, for a partial index, its condition fit the query. SQLite's planner
picks a usable index on its own.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import QuerySet


def query_plan(queryset: QuerySet) -> str:
    if connection.vendor != "postgresql":
        return queryset.explain()
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        try:
            return queryset.explain()
        finally:
            cursor.execute("RESET enable_seqscan")
