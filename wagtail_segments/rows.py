"""Many new rows of one model in one INSERT, without a model instance per row.

``bulk_create`` builds an instance per row and prepares every field of every row, a
quarter of a millisecond a row for an event; a campaign's email batch writes five rows per
email (its delivery, step log, two events and a touchpoint). Here the caller gives the values
that differ from row to row as columns, and those that do not as constants: on PostgreSQL
each column travels as one array parameter (``unnest``), each constant as one parameter,
and the fields not named take their defaults once. Values reach SQL only as parameters.
Other databases get ``bulk_create`` (the same rows, at its cost). No signals are sent, as
with ``bulk_create``.
"""

from __future__ import annotations

import json
from typing import Sequence

from django.db import connection, models


def insert_rows(model: type[models.Model], columns: dict[str, Sequence], constants: dict | None = None,
                *, returning: bool = False) -> list[int] | None:
    """Insert ``len(column)`` rows: field ``name`` takes ``columns[name][i]`` in row ``i`` and
    ``constants[name]`` in every row; a field named in neither takes its default (once: a
    unique field must be named). Returns the new primary keys in row order when asked."""
    constants = dict(constants or {})
    count = len(next(iter(columns.values()))) if columns else 0
    if not count:
        return [] if returning else None
    meta = model._meta
    named = {meta.get_field(name).name for name in [*columns, *constants]}
    for field in meta.concrete_fields:
        if field.name in named or (field.primary_key and field.db_returning):
            continue
        if field.unique:
            raise ValueError(f"{model.__name__}.{field.name} is unique: give each row its value")
        constants[field.name] = field.get_default()
    if connection.vendor != "postgresql":
        objs = [model(**{name: values[i] for name, values in columns.items()}, **constants) for i in range(count)]
        model.objects.bulk_create(objs)
        return [obj.pk for obj in objs] if returning else None
    quote = connection.ops.quote_name
    targets, selected, params = [], [], []
    for position, (name, values) in enumerate(columns.items()):
        field = meta.get_field(name)
        targets.append(quote(field.column))
        if isinstance(field, models.JSONField):
            params.append([None if v is None else json.dumps(v, cls=field.encoder) for v in values])
            selected.append((f"c{position}::jsonb", "text"))
        else:
            params.append([field.get_db_prep_save(v, connection) for v in values])
            selected.append((f"c{position}", field.db_type(connection)))
    arrays = ", ".join(f"%s::{db_type}[]" for _column, db_type in selected)
    aliases = ", ".join(f"c{position}" for position in range(len(selected)))
    expressions = [column for column, _db_type in selected]
    for name, value in constants.items():
        field = meta.get_field(name)
        targets.append(quote(field.column))
        if isinstance(field, models.JSONField):
            params.append(None if value is None else json.dumps(value, cls=field.encoder))
            expressions.append("%s::jsonb")
        else:
            params.append(field.get_db_prep_save(value, connection))
            expressions.append(f"%s::{field.db_type(connection)}")
    # the constants' placeholders come first in the SELECT list, the arrays' in FROM
    params = params[len(columns):] + params[:len(columns)]
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(targets)}) "
        f"SELECT {', '.join(expressions)} FROM unnest({arrays}) WITH ORDINALITY AS rows({aliases}, n) ORDER BY n"
    )
    if returning:
        sql += f" RETURNING {quote(meta.pk.column)}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()] if returning else None
