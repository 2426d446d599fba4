"""A rate limit per email backend: at most N messages per second and M per hour.

Each limit is a sliding window counted in buckets kept in Django's cache (the cache named by
``EMAIL_RATE_LIMIT_CACHE``): a second is ten buckets of 100 ms, an hour sixty buckets of a
minute, and the count of the window is the sum of the buckets it covers. A sender first adds
what it wants to send to the current bucket (``cache.incr`` is atomic on Redis, Memcached
and the database cache), then reads the window: over the limit, it takes the surplus back
and waits for the oldest bucket to leave the window. So every process that shares the cache
shares the limit: use Redis, Memcached or the database cache for several workers; the default
local-memory cache limits each process on its own.

``EMAIL_RATE_LIMITS`` maps a backend's dotted path (or ``"*"`` for any backend) to
``{"per_second": N, "per_hour": M}``; either may be left out. No entry: no limit, no cache
round trip.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from django.core.cache import caches

from wagtail_segments.conf import settings as conf

KEY_PREFIX = "wsg:email-rate"
now = time.time
pause = time.sleep


@dataclass(frozen=True)
class Window:
    seconds: float
    buckets: int
    limit: int

    @property
    def bucket_seconds(self) -> float:
        return self.seconds / self.buckets


class RateLimiter:
    """The limits of one backend. ``clock`` and ``sleep`` default to the module's ``now``
    and ``pause`` (replaceable in tests)."""

    def __init__(self, name: str, windows: list[Window], cache_alias: str = "default",
                 clock=None, sleep=None) -> None:
        self.name = name
        self.windows = windows
        self.cache = caches[cache_alias]
        self.clock = clock or now
        self.sleep = sleep or pause

    def _key(self, window: Window, index: int) -> str:
        return f"{KEY_PREFIX}:{self.name}:{window.seconds:g}:{index}"

    def _add(self, window: Window, index: int, n: int) -> None:
        key = self._key(window, index)
        timeout = math.ceil(window.seconds + 2 * window.bucket_seconds)
        if not self.cache.add(key, n, timeout):
            try:
                self.cache.incr(key, n)
            except ValueError:  # expired between add and incr
                self.cache.add(key, n, timeout)

    def _count(self, window: Window, index: int) -> int:
        keys = [self._key(window, i) for i in range(index - window.buckets + 1, index + 1)]
        return sum(int(v) for v in self.cache.get_many(keys).values())

    def take(self, wanted: int) -> int:
        """Take up to ``wanted`` sends now; returns how many (0: wait and ask again)."""
        granted = wanted
        now = self.clock()
        taken: list[tuple[Window, int]] = []
        for window in self.windows:
            index = int(now // window.bucket_seconds)
            self._add(window, index, granted)
            taken.append((window, index))
            over = self._count(window, index) - window.limit
            if over > 0:
                surplus = min(over, granted)
                for w, i in taken:  # give back what this window does not allow, everywhere
                    self._add(w, i, -surplus)
                granted -= surplus
                if granted == 0:
                    return 0
        return granted

    def wait_for(self, wanted: int) -> int:
        """Block until at least one send is allowed; returns how many (≤ ``wanted``)."""
        while True:
            granted = self.take(wanted)
            if granted:
                return granted
            smallest = min(w.bucket_seconds for w in self.windows)
            now = self.clock()
            self.sleep(smallest - (now % smallest) + 0.001)


class NoLimit:
    def wait_for(self, wanted: int) -> int:
        return wanted


def limiter_for(backend: str) -> RateLimiter | NoLimit:
    """The limiter of ``backend`` (a dotted path) from ``EMAIL_RATE_LIMITS``."""
    limits = conf.EMAIL_RATE_LIMITS or {}
    limit = limits.get(backend) or limits.get("*")
    if not limit:
        return NoLimit()
    windows = []
    if limit.get("per_second"):
        windows.append(Window(1.0, 10, int(limit["per_second"])))
    if limit.get("per_hour"):
        windows.append(Window(3600.0, 60, int(limit["per_hour"])))
    if not windows:
        return NoLimit()
    return RateLimiter(backend, windows, conf.EMAIL_RATE_LIMIT_CACHE)
