"""Set-based inserts of memberships and their timeline events.

A first build of a large segment writes one membership and one ``segment_entered`` event per
member. Through ``bulk_create`` each row is a model instance and a dozen parameters; here the
ids travel as one array parameter (PostgreSQL ``unnest``, SQLite ``json_each``) and the
database fills in the rest, several times faster on a large event table (docs/scaling.md).
Values reach SQL only as parameters.
"""

from __future__ import annotations

import datetime
import json
from typing import Sequence

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection

from wagtail_segments.contacts.models import Event

from .models import Membership

CHUNK = 10_000


def _ids_source() -> str:
    """A one-column row source of integer ids from a single parameter."""
    if connection.vendor == "postgresql":
        return "SELECT unnest(%s::bigint[]) AS cid"
    return "SELECT CAST(value AS INTEGER) AS cid FROM json_each(%s)"


def _ids_param(ids: Sequence[int]):
    return list(ids) if connection.vendor == "postgresql" else json.dumps(list(ids))


def _insert(model, constants: dict[str, object], contact_ids: Sequence[int]) -> None:
    """INSERT INTO model (contact_id, <constants>) SELECT id, <constants> FROM <ids>."""
    if connection.vendor not in ("postgresql", "sqlite"):
        model.objects.bulk_create([model(contact_id=cid, **constants) for cid in contact_ids], batch_size=2000)
        return
    quote = connection.ops.quote_name
    fields = [model._meta.get_field(name) for name in constants]
    columns = ", ".join(quote(f.column) for f in fields)
    values = [f.get_db_prep_save(constants[name], connection) for name, f in zip(constants, fields)]
    placeholders = ", ".join("%s" for _ in fields)
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({quote('contact_id')}, {columns}) "
        f"SELECT ids.cid, {placeholders} FROM ({_ids_source()}) AS ids"
    )
    with connection.cursor() as cursor:
        for start in range(0, len(contact_ids), CHUNK):
            cursor.execute(sql, [*values, _ids_param(contact_ids[start:start + CHUNK])])


def insert_memberships(segment_id: int, contact_ids: Sequence[int], source: str,
                       added_at: datetime.datetime, excluded: bool = False) -> None:
    _insert(Membership, {"segment_id": segment_id, "source": source, "added_at": added_at,
                         "excluded": excluded}, contact_ids)


def insert_events(contact_ids: Sequence[int], kind: str, time: datetime.datetime, data: dict) -> None:
    """One event of ``kind`` per contact, all with the same data."""
    blank = {name: "" for name in ("path", "referrer", "utm_source", "utm_medium", "utm_campaign",
                                   "utm_term", "utm_content", "device", "country")}
    # JSONField's own preparation expects a value; the encoder matches the field's.
    payload = json.loads(json.dumps(data, cls=DjangoJSONEncoder))
    _insert(Event, {"kind": kind, "time": time, "data": payload, **blank}, contact_ids)
