"""When waits end: elapsed minutes and hours; calendar days that keep the clock time."""

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.test import override_settings

from tests import factories
from wagtail_segments.campaigns.steps import arrival
from wagtail_segments.campaigns.timing import wait_ends_at, wait_problems

LONDON = ZoneInfo("Europe/London")
UTC = datetime.timezone.utc
# Clocks in London go forward at 01:00 UTC on 29 March 2026 and back at 01:00 UTC on 25 October.
BEFORE_SPRING = datetime.datetime(2026, 3, 28, 9, 0, tzinfo=LONDON)
BEFORE_AUTUMN = datetime.datetime(2026, 10, 24, 9, 0, tzinfo=LONDON)



@pytest.fixture(autouse=True)
def _london(settings):
    settings.TIME_ZONE = "Europe/London"


def test_a_one_day_wait_across_the_spring_change_is_23_hours_and_keeps_the_clock_time():
    end = wait_ends_at({"days": 1}, BEFORE_SPRING)
    assert end - BEFORE_SPRING == datetime.timedelta(hours=23)
    assert end.astimezone(LONDON).time() == datetime.time(9, 0)


def test_a_one_day_wait_across_the_autumn_change_is_25_hours():
    assert wait_ends_at({"days": 1}, BEFORE_AUTUMN) - BEFORE_AUTUMN == datetime.timedelta(hours=25)


def test_a_week_is_seven_calendar_days():
    end = wait_ends_at({"weeks": 1}, BEFORE_SPRING)
    assert end.astimezone(LONDON) == datetime.datetime(2026, 4, 4, 9, 0, tzinfo=LONDON)


def test_hours_and_minutes_are_elapsed_time_across_the_change():
    assert wait_ends_at({"hours": 24}, BEFORE_SPRING) - BEFORE_SPRING == datetime.timedelta(hours=24)
    assert wait_ends_at({"minutes": 90}, BEFORE_SPRING) - BEFORE_SPRING == datetime.timedelta(minutes=90)


def test_a_clock_time_inside_the_spring_gap_moves_forward_by_the_gap():
    start = datetime.datetime(2026, 3, 28, 1, 30, tzinfo=LONDON)
    end = wait_ends_at({"days": 1}, start).astimezone(LONDON)
    assert (end.date(), end.time()) == (datetime.date(2026, 3, 29), datetime.time(2, 30))


def test_days_are_counted_in_the_sites_time_zone_not_utc():
    # 23:30 in Sydney on 1 July is 13:30 UTC: one day later is 23:30 on 2 July in Sydney.
    with override_settings(TIME_ZONE="Australia/Sydney"):
        start = datetime.datetime(2026, 7, 1, 13, 30, tzinfo=UTC)
        end = wait_ends_at({"days": 1}, start).astimezone(ZoneInfo("Australia/Sydney"))
    assert (end.date(), end.time()) == (datetime.date(2026, 7, 2), datetime.time(23, 30))


def test_until_without_an_offset_is_read_in_the_sites_time_zone():
    end = wait_ends_at({"until": "2026-07-01T09:00"}, BEFORE_SPRING)
    assert end == datetime.datetime(2026, 7, 1, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize("config", [{}, {"days": 1, "hours": 2}, {"days": -1}, {"days": "two"}, {"until": "soon"}])
def test_a_wait_needs_exactly_one_valid_length(config):
    assert wait_problems(config)


@pytest.mark.django_db
def test_a_run_reaching_a_wait_waits_until_it_ends():
    campaign = factories.campaign()
    wait, = factories.chain(campaign, ("wait", {"days": 1}))
    placed = arrival(wait, BEFORE_SPRING)
    assert placed["state"] == "waiting"
    assert placed["next_due_at"] - BEFORE_SPRING == datetime.timedelta(hours=23)


# 28 March 2026 is a Saturday; London's clocks go forward early on Sunday 29 March.
SATURDAY = datetime.datetime(2026, 3, 28, 9, 0, tzinfo=LONDON)


def test_until_a_weekday_is_the_next_such_day_at_its_clock_time_across_the_spring_change():
    end = wait_ends_at({"weekday": 0, "at": "09:00"}, SATURDAY)
    assert end.astimezone(LONDON) == datetime.datetime(2026, 3, 30, 9, 0, tzinfo=LONDON)
    assert end - SATURDAY == datetime.timedelta(hours=47)  # one hour less: the clocks went forward


def test_until_a_weekday_is_today_when_its_time_is_still_to_come_and_a_week_later_when_past():
    morning = datetime.datetime(2026, 3, 30, 8, 0, tzinfo=LONDON)  # a Monday
    assert wait_ends_at({"weekday": 0, "at": "09:00"}, morning).astimezone(LONDON).date() == datetime.date(2026, 3, 30)
    evening = datetime.datetime(2026, 3, 30, 18, 0, tzinfo=LONDON)
    assert wait_ends_at({"weekday": 0, "at": "09:00"}, evening).astimezone(LONDON).date() == datetime.date(2026, 4, 6)


def test_the_weekday_is_the_sites_not_utcs():
    # 23:30 on Sunday in UTC is already Monday 00:30 in Tokyo: "until Monday 09:00" is today there.
    with override_settings(TIME_ZONE="Asia/Tokyo"):
        start = datetime.datetime(2026, 3, 29, 23, 30, tzinfo=UTC)
        end = wait_ends_at({"weekday": 0, "at": "09:00"}, start)
    assert end == datetime.datetime(2026, 3, 30, 0, 0, tzinfo=UTC)


WORKING_HOURS = {"window": {"from": "09:00", "until": "17:00", "days": [0, 1, 2, 3, 4]}}


def test_inside_the_window_there_is_no_wait():
    tuesday_noon = datetime.datetime(2026, 3, 31, 12, 0, tzinfo=LONDON)
    assert wait_ends_at(WORKING_HOURS, tuesday_noon) == tuesday_noon


def test_after_hours_the_window_opens_the_next_working_morning():
    tuesday_evening = datetime.datetime(2026, 3, 31, 17, 0, tzinfo=LONDON)  # closes at 17:00
    assert wait_ends_at(WORKING_HOURS, tuesday_evening).astimezone(LONDON) == datetime.datetime(
        2026, 4, 1, 9, 0, tzinfo=LONDON)


def test_a_weekend_waits_for_monday_across_the_spring_change():
    friday_night = datetime.datetime(2026, 3, 27, 20, 0, tzinfo=LONDON)
    end = wait_ends_at(WORKING_HOURS, friday_night)
    assert end.astimezone(LONDON) == datetime.datetime(2026, 3, 30, 9, 0, tzinfo=LONDON)
    assert end - friday_night == datetime.timedelta(hours=60)  # 61 on the clock, one hour skipped


def test_a_window_without_days_is_every_day():
    sunday_early = datetime.datetime(2026, 3, 29, 6, 0, tzinfo=LONDON)
    assert wait_ends_at({"window": {"from": "08:00", "until": "20:00"}}, sunday_early).astimezone(LONDON) == \
        datetime.datetime(2026, 3, 29, 8, 0, tzinfo=LONDON)


@pytest.mark.parametrize("config", [
    {"weekday": 7, "at": "09:00"}, {"weekday": 1, "at": "9 o'clock"}, {"weekday": True},
    {"window": {"from": "17:00", "until": "09:00"}}, {"window": {"from": "09:00"}},
    {"window": {"from": "09:00", "until": "17:00", "days": [5, 8]}}, {"window": "office hours"},
])
def test_bad_weekdays_and_windows_are_refused(config):
    assert wait_problems(config)


def test_weekday_and_window_waits_are_valid_settings():
    assert wait_problems({"weekday": 4, "at": "16:30"}) == []
    assert wait_problems(WORKING_HOURS) == []
