"""Send windows, read in the contact's time zone."""

import datetime
from zoneinfo import ZoneInfo

from wagtail_segments.messaging.window import SendWindow, contact_zone, next_opening

UTC = datetime.timezone.utc
PARIS = ZoneInfo("Europe/Paris")
WEEKDAYS_9_TO_18 = SendWindow(days=(0, 1, 2, 3, 4), start=datetime.time(9), end=datetime.time(18))


def at(*args, zone=PARIS):
    return datetime.datetime(*args, tzinfo=zone)


def test_inside_the_window_it_sends_now():
    assert next_opening(WEEKDAYS_9_TO_18, PARIS, at(2025, 3, 5, 10, 30)) is None  # a Wednesday


def test_before_opening_it_waits_for_nine_the_same_day():
    assert next_opening(WEEKDAYS_9_TO_18, PARIS, at(2025, 3, 5, 7, 0)) == at(2025, 3, 5, 9, 0)


def test_friday_evening_waits_for_monday_morning():
    assert next_opening(WEEKDAYS_9_TO_18, PARIS, at(2025, 3, 7, 18, 0)) == at(2025, 3, 10, 9, 0)


def test_the_same_moment_is_inside_for_one_contact_and_outside_for_another():
    moment = datetime.datetime(2025, 3, 5, 16, 0, tzinfo=UTC)  # 17:00 in Paris, 11:00 in New York, 01:00 in Tokyo
    assert next_opening(WEEKDAYS_9_TO_18, PARIS, moment) is None
    assert next_opening(WEEKDAYS_9_TO_18, ZoneInfo("America/New_York"), moment) is None
    tokyo = ZoneInfo("Asia/Tokyo")
    assert next_opening(WEEKDAYS_9_TO_18, tokyo, moment) == at(2025, 3, 6, 9, 0, zone=tokyo)


def test_an_overnight_window_spans_midnight():
    night = SendWindow(start=datetime.time(22), end=datetime.time(6))
    assert next_opening(night, PARIS, at(2025, 3, 5, 23, 0)) is None
    assert next_opening(night, PARIS, at(2025, 3, 6, 5, 0)) is None
    assert next_opening(night, PARIS, at(2025, 3, 6, 12, 0)) == at(2025, 3, 6, 22, 0)


def test_an_opening_inside_the_spring_gap_moves_forward_by_the_gap():
    window = SendWindow(start=datetime.time(2, 30), end=datetime.time(4))
    # 30 March 2025: Paris jumps from 02:00 to 03:00
    opens = next_opening(window, PARIS, at(2025, 3, 30, 1, 0))
    assert opens == datetime.datetime(2025, 3, 30, 1, 30, tzinfo=UTC)  # 03:30 local


def test_an_unknown_contact_zone_falls_back_to_the_sites(settings):
    settings.TIME_ZONE = "Europe/London"
    assert contact_zone("Mars/Olympus") == ZoneInfo("Europe/London")
    assert contact_zone("") == ZoneInfo("Europe/London")
    assert contact_zone("Asia/Tokyo") == ZoneInfo("Asia/Tokyo")
