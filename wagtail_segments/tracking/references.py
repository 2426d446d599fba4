"""The rows an event points to (its contact, page and site): checked when the event is
written, even inside a site's own transaction, and replaced when they are gone.

PostgreSQL and SQLite check Django's foreign keys when the transaction commits. With
``ATOMIC_REQUESTS`` that is the end of the request, where a cookie naming an erased contact
would fail every page of that visitor until the cookie expires. So inside a transaction the
event's references are checked when it is inserted, where the recorder can still start a new
contact: on PostgreSQL by making the event's foreign keys immediate for that one statement
(the check then locks the rows it found, so a concurrent delete waits for the request), on
SQLite by reading them first (its write lock, taken by ``"transaction_mode": "IMMEDIATE"``,
keeps them until the commit). Outside a transaction the insert is checked at once anyway and
costs nothing more.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from django.db import IntegrityError, connection, connections, transaction
from django.db.models import Exists

from wagtail_segments.contacts.models import Event

REFERENCES = tuple(field for field in Event._meta.concrete_fields if field.is_relation)


@lru_cache(maxsize=None)
def _foreign_key_names(alias: str) -> str:
    """The event table's foreign key constraints, as SET CONSTRAINTS takes them (read once
    per process: their names are the database's, whatever created them)."""
    database = connections[alias]
    with database.cursor() as cursor:
        constraints = database.introspection.get_constraints(cursor, Event._meta.db_table)
    names = sorted(name for name, constraint in constraints.items() if constraint["foreign_key"])
    return ", ".join(database.ops.quote_name(name) for name in names)


def _set_references(event: Event) -> list[tuple]:
    return [(field, getattr(event, field.attname)) for field in REFERENCES if getattr(event, field.attname) is not None]


def _references_exist(event: Event) -> bool:
    """Whether every row the event points to exists: one query."""
    (first, first_id), *others = _set_references(event)
    query = first.related_model._base_manager.filter(pk=first_id)
    for field, value in others:
        query = query.filter(Exists(field.related_model._base_manager.filter(pk=value)))
    return query.exists()


def insert_checking_references(event: Event) -> None:
    """Insert ``event`` inside the site's transaction; IntegrityError now, in a savepoint, if a
    row it points to is gone, instead of at the commit."""
    if connection.vendor == "postgresql":
        names = _foreign_key_names(connection.alias)
        # A failed insert rolls the savepoint back, and with it the constraints' mode.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SET CONSTRAINTS {names} IMMEDIATE")
            event.save(force_insert=True)
            cursor.execute(f"SET CONSTRAINTS {names} DEFERRED")
    elif connection.features.can_defer_constraint_checks:
        if not _references_exist(event):
            raise IntegrityError("A row the event points to no longer exists.")
        event.save(force_insert=True)
    else:  # checked at once by the database; the savepoint keeps the site's transaction usable
        with transaction.atomic():
            event.save(force_insert=True)


def replace_missing_references(event: Event, new_contact_id: Callable[[], int]) -> None:
    """Point ``event`` at rows that exist: a new contact for a contact that is gone (an erased
    contact's cookie), nothing for a deleted page or site."""
    for field, value in _set_references(event):
        if not field.related_model._base_manager.filter(pk=value).exists():
            setattr(event, field.attname, None if field.null else new_contact_id())
