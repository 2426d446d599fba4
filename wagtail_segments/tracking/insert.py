"""The tracked request's one INSERT on PostgreSQL: compiled once, committed without waiting
for the write-ahead log, in one round trip.

Through ``Model.save()`` an event insert spends about 0.2 ms in Python (the save machinery
and compiling a 17-column statement) on top of the 0.27 ms the database needs, measured on
PostgreSQL at 10M events (docs/scaling.md): the largest part of what tracking adds to a page
view besides the database's own work. Here the statement is built once per process from the
model's fields; each view prepares only its values, through the fields' own
``get_db_prep_save``, so the row is what the ORM would have written, and ``pre_save`` /
``post_save`` are sent as ``save()`` sends them.

The ``SET LOCAL`` travels in the same query string: the two statements are one implicit
transaction, and ``synchronous_commit`` is read when it commits. It comes second so that the
INSERT's RETURNING row is the first result. This needs psycopg's client-side binding
(Django's default); the connection's own setting is untouched.
"""

from __future__ import annotations

from functools import lru_cache

from django.db import connection
from django.db.models.signals import post_save, pre_save

from wagtail_segments.contacts.models import Event

UNFLUSHED = "SET LOCAL synchronous_commit TO OFF"


@lru_cache(maxsize=None)
def _statement(alias: str) -> tuple[str, tuple]:
    from django.db import connections

    quote = connections[alias].ops.quote_name
    meta = Event._meta
    fields = tuple(field for field in meta.concrete_fields if not field.primary_key)
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))}) RETURNING {quote(meta.pk.column)}; {UNFLUSHED}"
    )
    return sql, fields


def can_insert_unflushed() -> bool:
    """PostgreSQL, outside any transaction of the site's own, with client-side binding."""
    return (
        connection.vendor == "postgresql"
        and not connection.in_atomic_block
        and not connection.settings_dict.get("OPTIONS", {}).get("server_side_binding")
    )


def insert_unflushed(event: Event) -> None:
    """Insert ``event`` as ``save(force_insert=True)`` would, without waiting for the flush.
    Raises IntegrityError (at the implicit commit) when a row it points to is gone."""
    using = connection.alias
    pre_save.send(sender=Event, instance=event, raw=False, using=using, update_fields=None)
    sql, fields = _statement(using)
    params = [field.get_db_prep_save(field.pre_save(event, True), connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        event.pk = cursor.fetchone()[0]
    event._state.adding = False
    event._state.db = using
    post_save.send(sender=Event, instance=event, created=True, update_fields=None, raw=False, using=using)
