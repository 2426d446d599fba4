"""When a wait ends.

Minutes and hours are elapsed time. Days and weeks are calendar days in the site's time zone
(``TIME_ZONE``) that keep the clock time: a one-day wait started at 09:00 the day before the
clocks go forward ends at 09:00 the next day, 23 hours later. A clock time that does not
exist on the target day (inside the spring gap) moves forward by the gap; one that exists
twice (the autumn repeat) is its first occurrence. ``until`` is a date and time, read in the
site's time zone when it has no offset.
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


def wait_problems(config: dict) -> list[str]:
    given = [unit for unit in (*UNITS, "until") if config.get(unit) not in (None, "")]
    if len(given) != 1:
        return [_("Give exactly one of: minutes, hours, days, weeks or a date and time to wait until.")]
    unit = given[0]
    if unit == "until":
        return [] if _until(config["until"]) else [_("“%(value)s” is not a date and time.") % {"value": config["until"]}]
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
    until = _until(config.get("until"))
    if until is None:
        raise ValueError(f"Wait settings without a length: {config!r}")
    return until


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
