"""The per-backend rate limit: a sliding window shared through the cache."""

import pytest

from wagtail_segments.messaging.ratelimit import NoLimit, RateLimiter, Window, limiter_for


class Clock:
    def __init__(self, now=5000.0):
        self.now = now

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def limiter(clock, **limits):
    windows = []
    if "per_second" in limits:
        windows.append(Window(1.0, 10, limits["per_second"]))
    if "per_hour" in limits:
        windows.append(Window(3600.0, 60, limits["per_hour"]))
    return RateLimiter("test", windows, clock=clock, sleep=clock.sleep)


def test_a_window_grants_up_to_its_limit_then_nothing_until_time_passes():
    clock = Clock()
    first = limiter(clock, per_second=10)
    assert first.take(6) == 6
    assert first.take(6) == 4
    assert first.take(1) == 0
    clock.now += 0.5
    assert first.take(1) == 0  # the window slides: the sends of 0.5 s ago still count
    clock.now += 0.6
    assert first.take(10) == 10


def test_two_limiters_of_one_backend_share_the_count():
    """Two worker processes: two limiter objects on the same cache."""
    clock = Clock()
    assert limiter(clock, per_second=5).take(3) == 3
    assert limiter(clock, per_second=5).take(3) == 2


def test_the_hourly_limit_holds_while_the_per_second_one_allows():
    clock = Clock()
    both = limiter(clock, per_second=100, per_hour=150)
    sent = 0
    for _ in range(5):
        sent += both.take(100)
        clock.now += 1
    assert sent == 150
    clock.now += 3600
    assert both.take(100) == 100


def test_wait_for_sleeps_until_a_send_is_allowed():
    clock = Clock()
    slow = limiter(clock, per_second=1)
    assert slow.wait_for(3) == 1
    started = clock.now
    assert slow.wait_for(3) == 1
    assert 0.9 <= clock.now - started <= 1.1


@pytest.mark.parametrize("limits, limited", [({}, False), ({"*": {"per_second": 3}}, True),
                                             ({"other.Backend": {"per_hour": 3}}, False)])
def test_limits_are_read_per_backend(settings, limits, limited):
    settings.WAGTAIL_SEGMENTS = {"EMAIL_RATE_LIMITS": limits}
    assert isinstance(limiter_for("django.core.mail.backends.smtp.EmailBackend"), RateLimiter) is limited
    assert isinstance(limiter_for("x"), NoLimit) is not limited
