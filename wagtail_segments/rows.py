"""Many new rows of one model in one INSERT, without a model instance per row.

``bulk_create`` builds an instance per row and prepares every field of every row (about
0.2 ms a row for an event, on PostgreSQL through psycopg's client-side binding, which also
quotes each element of its arrays in Python); a campaign's email batch writes five rows per
email (its delivery, step log, two events and a touchpoint). Here the caller gives the values
that differ from row to row as columns, and those that do not as constants. On PostgreSQL the
rows travel as ONE JSON parameter (encoded in C), each constant as one parameter, and the
fields not named take their defaults once; the database casts each value to its column's
type (strings to text, so a value too long for its column fails as in any INSERT). Values
reach SQL only as parameters. Other databases get ``bulk_create`` (the same rows, at its
cost). No signals are sent, as with ``bulk_create``.
"""
from __future__ import annotations

import datetime
import decimal
import json
import uuid
from typing import Sequence

from django.db import connections, models, router
from django.db.models import fields as plain_fields

# Values that the database driver takes as they are for these fields: preparing them
# through the field (most of the cost of a row) would return them unchanged.
PLAIN_VALUES = {str, int, bool, float, type(None)}
PLAIN_FIELDS = (plain_fields.CharField, plain_fields.TextField, plain_fields.IntegerField, plain_fields.BooleanField)


def insert_rows(model: type[models.Model], columns: dict[str, Sequence], constants: dict | None = None,
                *, returning: bool = False) -> list[int] | None:
    """Insert ``len(column)`` rows: field ``name`` takes ``columns[name][i]`` in row ``i`` and
    ``constants[name]`` in every row; a field named in neither takes its default (once: a
    unique field must be named). Returns the new primary keys in row order when asked."""
    constants = dict(constants or {})
    connection = connections[router.db_for_write(model)]  # the wrapper itself: no proxy lookup per value
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
    targets, expressions, params, prepared = [], [], [], []
    for name, value in constants.items():
        field = meta.get_field(name)
        targets.append(quote(field.column))
        expressions.append(f"%s::{_sql_type(field, connection)}")
        params.append(_json(field, value) if isinstance(field, models.JSONField) else field.get_db_prep_save(value, connection))
    for position, (name, values) in enumerate(columns.items()):
        field = meta.get_field(name)
        targets.append(quote(field.column))
        expressions.append(f"(rows.r->>{position})::{_sql_type(field, connection)}")
        if isinstance(field, models.JSONField):
            prepared.append([_json(field, v) for v in values])
        elif isinstance(field.target_field if field.is_relation else field, PLAIN_FIELDS):
            prepare = field.get_db_prep_save
            prepared.append([v if type(v) in PLAIN_VALUES else prepare(v, connection) for v in values])
        else:
            prepared.append([field.get_db_prep_save(v, connection) for v in values])
    params.append(json.dumps(list(zip(*prepared)), default=_scalar))
    sql = f"INSERT INTO {quote(meta.db_table)} ({', '.join(targets)}) SELECT {', '.join(expressions)} "
    if returning:  # inserted in row order, so RETURNING gives the ids in row order
        sql += f"FROM json_array_elements(%s::json) WITH ORDINALITY AS rows(r, n) ORDER BY rows.n RETURNING {quote(meta.pk.column)}"
    else:
        sql += "FROM json_array_elements(%s::json) AS rows(r)"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()] if returning else None


def _sql_type(field, connection) -> str:
    """What a value is cast to on its way from a parameter: text for strings, whose column
    type then checks their length as any INSERT does (a cast to ``varchar(n)`` would cut)."""
    if isinstance(field, models.JSONField):
        return "jsonb"
    if isinstance(field, (plain_fields.CharField, plain_fields.TextField)):
        return "text"
    return field.db_type(connection)


def _json(field, value) -> str | None:
    return None if value is None else json.dumps(value, cls=field.encoder)


def _scalar(value) -> str:
    """A prepared value JSON has no type for (a time, a uuid, a decimal), as PostgreSQL reads it."""
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (uuid.UUID, decimal.Decimal)):
        return str(value)
    raise TypeError(f"{type(value).__name__} cannot be written by insert_rows")
