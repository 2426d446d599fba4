"""Typed contact properties: strings in, typed values stored."""

import pytest

from wagtail_segments.contacts.properties import PropertyValueError, normalise_property

TYPES = {"size": "number", "renewal": "date", "vip": "boolean", "note": "text"}


@pytest.mark.parametrize(
    "key,value,expected",
    [
        ("size", "12", 12), ("size", " 3,5 ", 3.5), ("size", 7, 7), ("size", "", None),
        ("renewal", "2027-03-01", "2027-03-01"), ("renewal", "01/03/2027", "2027-03-01"),
        ("renewal", "2027-03-01T10:00:00", "2027-03-01"),
        ("vip", "Yes", True), ("vip", "0", False),
        ("note", ["a", "b"], "a, b"), ("undeclared", "12", "12"),
    ],
)
def test_values_are_normalised_to_their_declared_type(key, value, expected):
    assert normalise_property(key, value, TYPES) == expected


@pytest.mark.parametrize(
    "key,value", [("size", "many"), ("size", "nan"), ("size", True), ("renewal", "31/31/2027"), ("vip", "maybe")]
)
def test_wrong_values_raise_a_clear_error(key, value):
    with pytest.raises(PropertyValueError):
        normalise_property(key, value, TYPES)


@pytest.mark.parametrize("text,expected", [("1,000", 1000), ("1,234.5", 1234.5), ("12 500", 12500), ("3,5", 3.5)])
def test_thousands_separators_are_read_as_people_write_them(text, expected):
    assert normalise_property("size", text, TYPES) == expected


@pytest.mark.parametrize("text", ["1e9999999", "1" + "0" * 19, "-1e400"])
def test_a_number_beyond_64_bits_is_refused_at_once(text):
    """Both a clear error and a guard: int() of 1e9999999 runs for minutes."""
    with pytest.raises(PropertyValueError, match="too large"):
        normalise_property("size", text, TYPES)
    assert normalise_property("size", str(2**63 - 1), TYPES) == 2**63 - 1
