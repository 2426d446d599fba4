"""When a wait ends.

Minutes and hours are elapsed time. Days and weeks are calendar days in the site's time zone
(``TIME_ZONE``) that keep the clock time: a one-day wait started at 09:00 the day before the
clocks go forward ends at 09:00 the next day, 23 hours later. A clock time that does not
exist on the target day (inside the spring gap) moves forward by the gap; one that exists
twice (the autumn repeat) is its first occurrence. ``until`` is a date and time, read in the
site's time zone when it has no offset.

Two waits are for a clock rather than a length, in the site's time zone too:

- ``{"weekday": 0, "at": "09:00"}``: until the next Monday (0; Sunday is 6) at 09:00; today
  when it is that day and the time is still to come.
- ``{"window": {"from": "09:00", "until": "17:00", "days": [0, 1, 2, 3, 4]}}``: not at all
  when the run arrives inside the window, else until the window next opens (``days`` empty
  or absent: every day).
"""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

ELAPSED_UNITS = {"minutes": 60, "hours": 3600}
CALENDAR_UNITS = {"days": 1, "weeks": 7}
UNITS = (*ELAPSED_UNITS, *CALENDAR_UNITS)


def site_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE or "UTC")


CLOCK_KINDS = ("until", "weekday", "window")


def wait_problems(config: dict) -> list[str]:
    given = [unit for unit in (*UNITS, *CLOCK_KINDS) if config.get(unit) not in (None, "")]
    if len(given) != 1:
        return [_("Give exactly one of: minutes, hours, days, weeks, a date and time to wait until, "
                  "a weekday or a time-of-day window.")]
    unit = given[0]
    if unit == "until":
        return [] if _until(config["until"]) else [_("“%(value)s” is not a date and time.") % {"value": config["until"]}]
    if unit == "weekday":
        return weekday_problems(config)
    if unit == "window":
        return window_problems(config["window"])
    value = config[unit]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return [_("The number of %(unit)s must be a whole number, 0 or more.") % {"unit": unit}]
    return []


def wait_ends_at(config: dict, start: datetime.datetime) -> datetime.datetime:
    """The moment a wait with these settings, begun at ``start`` (aware), ends."""
    for unit, seconds in ELAPSED_UNITS.items():
        if config.get(unit) not in (None, ""):
            return start + datetime.timedelta(seconds=seconds * int(config[unit]))
    for unit, days in CALENDAR_UNITS.items():
        if config.get(unit) not in (None, ""):
            return add_calendar_days(start, days * int(config[unit]))
    if config.get("weekday") not in (None, ""):
        return next_weekday_at(start, int(config["weekday"]), parse_clock(config.get("at")) or datetime.time(0))
    if config.get("window") not in (None, ""):
        window = config["window"]
        return next_window_opening(start, parse_clock(window.get("from")), parse_clock(window.get("until")),
                                   window.get("days") or ())
    until = _until(config.get("until"))
    if until is None:
        raise ValueError(f"Wait settings without a length: {config!r}")
    return until


def parse_clock(value) -> datetime.time | None:
    """"09:00" (or a ``time``) as a time of day; None when it is not one."""
    if isinstance(value, datetime.time):
        return value
    try:
        return datetime.time.fromisoformat(str(value or ""))
    except ValueError:
        return None


def _is_weekday(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 6


def weekday_problems(config: dict) -> list[str]:
    problems = []
    if not _is_weekday(config.get("weekday")):
        problems.append(_("The weekday must be a number from 0 (Monday) to 6 (Sunday)."))
    if config.get("at") not in (None, "") and parse_clock(config["at"]) is None:
        problems.append(_("“%(value)s” is not a time of day (HH:MM).") % {"value": config["at"]})
    return problems


def window_problems(window) -> list[str]:
    if not isinstance(window, dict):
        return [_("A time-of-day window needs “from” and “until” times.")]
    start, end = parse_clock(window.get("from")), parse_clock(window.get("until"))
    if start is None or end is None:
        return [_("A time-of-day window needs “from” and “until” times (HH:MM).")]
    problems = []
    if start >= end:
        problems.append(_("The window must end after it starts on the same day."))
    days = window.get("days") or []
    if not isinstance(days, list) or not all(_is_weekday(day) for day in days):
        problems.append(_("The window's days must be numbers from 0 (Monday) to 6 (Sunday)."))
    return problems


def _at(day: datetime.date, clock: datetime.time) -> datetime.datetime:
    """``clock`` on ``day`` in the site's time zone, as a real moment (see add_calendar_days)."""
    return datetime.datetime.combine(day, clock, tzinfo=site_zone()).astimezone(datetime.timezone.utc)


def next_weekday_at(start: datetime.datetime, weekday: int, clock: datetime.time) -> datetime.datetime:
    """The first ``weekday`` at ``clock`` (site's time zone) strictly after ``start``."""
    today = start.astimezone(site_zone()).date()
    ahead = (weekday - today.weekday()) % 7
    moment = _at(today + datetime.timedelta(days=ahead), clock)
    if moment <= start:
        moment = _at(today + datetime.timedelta(days=ahead + 7), clock)
    return moment


def next_window_opening(start: datetime.datetime, opens: datetime.time, closes: datetime.time,
                        days=()) -> datetime.datetime:
    """``start`` itself when it falls inside the daily window [opens, closes) on one of
    ``days`` (weekday numbers; empty: every day), else when the window next opens."""
    today = start.astimezone(site_zone()).date()
    allowed = set(days) or set(range(7))
    for ahead in range(8):
        day = today + datetime.timedelta(days=ahead)
        if day.weekday() not in allowed:
            continue
        begin, end = _at(day, opens), _at(day, closes)
        if start < end:
            return max(start, begin)
    raise ValueError(f"A window with no day in it: {days!r}")


def add_calendar_days(start: datetime.datetime, days: int) -> datetime.datetime:
    zone = site_zone()
    local = start.astimezone(zone)
    wall = datetime.datetime.combine(local.date() + datetime.timedelta(days=days), local.time(), tzinfo=zone)
    # A round trip through UTC turns a wall time inside the spring gap into a real moment.
    return wall.astimezone(datetime.timezone.utc)


def _until(value) -> datetime.datetime | None:
    if isinstance(value, datetime.datetime):
        moment = value
    else:
        try:
            moment = parse_datetime(str(value or ""))
        except ValueError:
            moment = None
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=site_zone())
    return moment.astimezone(datetime.timezone.utc)
