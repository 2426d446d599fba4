"""Send windows: when a marketing message may go out, in the contact's own time.

A window is a set of weekdays (0 = Monday; empty: every day) and a time of day from/until
(either empty: from midnight / until the end of the day). ``until`` earlier than ``from`` is
an overnight window (22:00–06:00), which belongs to the day it opens on. Times are read in
the contact's time zone (``Contact.time_zone``, an IANA name) when it is set and valid, else
in the site's ``TIME_ZONE``. A message due outside the window waits for its next opening; it
is never skipped.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings


@dataclass(frozen=True)
class SendWindow:
    days: tuple[int, ...] = ()
    start: datetime.time | None = None
    end: datetime.time | None = None

    @property
    def is_open_always(self) -> bool:
        return not self.days and self.start is None and self.end is None


def contact_zone(name: str | None) -> ZoneInfo:
    """The contact's zone, or the site's when it is empty or not a zone this machine knows."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo(settings.TIME_ZONE or "UTC")


def _moment(day: datetime.date, time: datetime.time, zone: ZoneInfo) -> datetime.datetime:
    # Through UTC, so that a wall time inside the spring gap becomes a real moment.
    return datetime.datetime.combine(day, time, tzinfo=zone).astimezone(datetime.timezone.utc)


def _openings(window: SendWindow, day: datetime.date, zone: ZoneInfo):
    """The (opens, closes) interval of ``day``'s window, or None when the day is not a send day."""
    if window.days and day.weekday() not in window.days:
        return None
    start = window.start or datetime.time(0)
    opens = _moment(day, start, zone)
    if window.end is None:
        closes = _moment(day + datetime.timedelta(days=1), datetime.time(0), zone)
    elif window.end > start:
        closes = _moment(day, window.end, zone)
    else:  # overnight: closes the next morning
        closes = _moment(day + datetime.timedelta(days=1), window.end, zone)
    return opens, closes


def next_opening(window: SendWindow, zone: ZoneInfo, now: datetime.datetime) -> datetime.datetime | None:
    """None when ``now`` is inside the window, else when it next opens (aware, UTC)."""
    if window.is_open_always:
        return None
    today = now.astimezone(zone).date()
    # Yesterday's overnight window may still be open; a week ahead always holds an opening.
    for offset in range(-1, 9):
        interval = _openings(window, today + datetime.timedelta(days=offset), zone)
        if interval is None:
            continue
        opens, closes = interval
        if opens <= now < closes:
            return None
        if opens > now:
            return opens
    return None  # no send day at all (days holds no weekday 0-6): never block for ever
