"""insert_rows writes the rows bulk_create would, in one statement, and keeps the checks an
INSERT has (a value too long for its column, a duplicate of a unique value)."""

import datetime
import uuid

import pytest
from django.db import DataError, IntegrityError, connection, transaction
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext

from tests import factories
from wagtail_segments.contacts.models import Event
from wagtail_segments.messaging.models import Delivery
from wagtail_segments.rows import insert_rows

pytestmark = pytest.mark.django_db
lengths_checked = pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite does not check a varchar's length")

WHEN = datetime.datetime(2026, 3, 29, 0, 59, 59, 123456, tzinfo=datetime.timezone.utc)


def _row(obj, *, without=("id",)) -> dict:
    return {k: v for k, v in model_to_dict(obj).items() if k not in without}


def test_events_are_the_rows_bulk_create_writes():
    first, second = factories.contact(email="a@example.com"), factories.contact(email="b@example.com")
    data = [{"delivery": 1, "note": "Ünïcode “quotes” and \\ backslash", "nested": {"list": [1, None, True]}},
            {"at": WHEN, "id": uuid.UUID(int=7)}]
    Event.objects.bulk_create([
        Event(contact_id=contact.pk, kind="email_sent", time=WHEN, data=value, path="/é")
        for contact, value in zip((first, second), data)
    ])
    with CaptureQueriesContext(connection) as queries:
        insert_rows(Event, {"contact_id": [first.pk, second.pk], "data": data}, {"kind": "email_sent", "time": WHEN, "path": "/é"})
    if connection.vendor == "postgresql":
        assert len(queries) == 1
    rows = [_row(e) for e in Event.objects.order_by("pk")]
    assert rows[2:] == rows[:2]
    assert Event.objects.order_by("pk").last().time == WHEN  # to the microsecond


def test_the_new_ids_come_back_in_row_order_and_unnamed_fields_take_their_defaults():
    contacts = [factories.contact(email=f"c{i}@example.com") for i in range(5)]
    message = factories.email_message()
    tokens = [uuid.uuid4() for _ in contacts]
    ids = insert_rows(Delivery, {
        "token": tokens, "contact_id": [c.pk for c in contacts], "to_address": [c.email for c in contacts],
        "links": [[f"https://example.com/{i}"] for i in range(5)],
    }, {"email_message_id": message.pk}, returning=True)
    saved = Delivery.objects.in_bulk(ids)
    assert [saved[pk].token for pk in ids] == tokens
    assert [saved[pk].links for pk in ids] == [[f"https://example.com/{i}"] for i in range(5)]
    assert {(d.status, d.test, d.sent_at, d.subject, d.sms_message_id) for d in saved.values()} == {
        (Delivery.Status.PENDING, False, None, "", None)}


def test_a_unique_field_left_to_its_default_is_refused():
    contact = factories.contact(email="a@example.com")
    with pytest.raises(ValueError, match="token"):
        insert_rows(Delivery, {"contact_id": [contact.pk, contact.pk], "to_address": ["a", "b"]})


def test_a_duplicate_unique_value_fails_the_whole_insert():
    contact = factories.contact(email="a@example.com")
    token = uuid.uuid4()
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_rows(Delivery, {"token": [token, token], "contact_id": [contact.pk] * 2, "to_address": ["a", "b"]})
    assert not Delivery.objects.exists()


@lengths_checked
def test_a_value_too_long_for_its_column_fails_as_it_would_in_an_insert():
    contact = factories.contact(email="a@example.com")
    with pytest.raises(DataError), transaction.atomic():
        insert_rows(Event, {"contact_id": [contact.pk], "country": ["GBR"]}, {"kind": "page_view"})
    assert not Event.objects.exists()


def test_no_rows_writes_nothing():
    with CaptureQueriesContext(connection) as queries:
        assert insert_rows(Event, {"contact_id": []}, {"kind": "x"}, returning=True) == []
    assert len(queries) == 0
