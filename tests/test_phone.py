"""Phone numbers read to E.164: with +country always, without it only in the default region."""

import pytest

from wagtail_segments.contacts.phone import InvalidPhone, e164_or_none, normalise_phone


@pytest.mark.parametrize("raw, expected", [
    ("+44 7911 123456", "+447911123456"),
    ("+1 (415) 555-2671", "+14155552671"),
    ("0044 7911 123456", "+447911123456"),
    ("  +33 6 12 34 56 78 ", "+33612345678"),
])
def test_international_numbers_need_no_region(raw, expected):
    assert normalise_phone(raw) == expected


def test_a_national_number_is_refused_without_a_default_region():
    with pytest.raises(InvalidPhone, match="no country code"):
        normalise_phone("07911 123456")


def test_a_national_number_is_read_in_the_default_region(settings):
    settings.WAGTAIL_SEGMENTS = {"SMS_DEFAULT_REGION": "GB"}
    assert normalise_phone("07911 123456") == "+447911123456"
    assert normalise_phone("+1 415 555 2671") == "+14155552671"  # +country still wins
    assert normalise_phone("06 12 34 56 78", region="FR") == "+33612345678"


@pytest.mark.parametrize("raw", ["", "   ", "call me", "+44 123", "+999 1234567"])
def test_missing_and_invalid_numbers_are_refused_with_a_reason(raw):
    with pytest.raises(InvalidPhone) as error:
        normalise_phone(raw)
    assert str(error.value)
    assert e164_or_none(raw) is None
