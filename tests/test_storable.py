"""Visitor input made storable: cleaned text, refused numbers, bounded nesting, and a write
the database still refuses dropped without breaking the site's transaction."""

import json
import sys

import pytest
from django.db import connection, transaction

from tests import factories
from wagtail_segments.models import Contact, Event
from wagtail_segments.tracking.storable import (
    Unstorable,
    dropped_when_refused,
    json_from_visitor,
    storable_json,
    storable_text,
)


def test_text_loses_control_characters_and_lone_surrogates():
    assert storable_text("a\x00b\x1fc\x7f\ud800\u200f😀", 100) == "abc\ufffd\u200f😀"
    assert storable_text("line\r\nnext\tcol\x00", lines=True) == "line\r\nnext\tcol"
    assert storable_text("one\ntwo") == "onetwo"
    assert storable_text(None) == "" and storable_text("abcdef", 3) == "abc"


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf"), 2**63, -(2**63) - 1, {"a": [10**400]}])
def test_numbers_no_database_stores_alike_are_refused(value):
    with pytest.raises(Unstorable):
        storable_json(value)


def test_json_values_are_cleaned_and_bounded():
    assert storable_json({"k\x00": ["v\x00", 2**63 - 1, 1.5, True, None]}) == {"k": ["v", 2**63 - 1, 1.5, True, None]}
    with pytest.raises(Unstorable):
        storable_json([[[[1]]]], max_depth=3)
    with pytest.raises(Unstorable):
        storable_json(list(range(10)), max_nodes=5)


@pytest.mark.parametrize(
    "text", ["NaN", "[Infinity]", '{"a": -Infinity}', "1e400", "1" + "0" * 30, "[" * 50 + "]" * 50],
)
def test_visitor_json_with_unstorable_values_is_refused(text):
    with pytest.raises(Unstorable):
        json_from_visitor(text)


def test_nesting_deeper_than_the_stack_is_refused_before_parsing():
    deep = "[" * (sys.getrecursionlimit() * 10) + "]" * (sys.getrecursionlimit() * 10)
    with pytest.raises(Unstorable):
        json_from_visitor(deep)
    # Brackets inside strings are text, not nesting.
    assert json_from_visitor(json.dumps({"a": "[[[[[[[[[[[[[[[[\\\"{{{{{{{{{"})) == {"a": "[[[[[[[[[[[[[[[[\\\"{{{{{{{{{"}


@pytest.mark.django_db
def test_a_refused_write_is_dropped_without_breaking_the_sites_transaction():
    """Inside ATOMIC_REQUESTS (as inside this test's transaction) a refused INSERT aborts the
    whole transaction on PostgreSQL unless it ran in a savepoint."""
    contact = factories.contact()
    assert connection.in_atomic_block
    with dropped_when_refused("a test event"):
        Event.objects.create(contact=contact, kind="custom", data={"x": float("nan")})
    with transaction.atomic():
        Contact.objects.create(first_name="Still works")
    assert Contact.objects.count() == 2 and not Event.objects.exists()
