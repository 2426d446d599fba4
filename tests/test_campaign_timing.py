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
