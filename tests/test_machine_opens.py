"""Opens by mail privacy proxies and scanners are told from people's opens."""

import datetime

from django.test import override_settings
from django.utils import timezone

from wagtail_segments.messaging.machine_opens import is_machine_open

SENT = timezone.now()
LATER = SENT + datetime.timedelta(minutes=30)
MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)"
GMAIL = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"


def test_apple_mail_privacy_protection_and_empty_agents_are_machines():
    assert is_machine_open("Mozilla/5.0", SENT, LATER)
    assert is_machine_open(" mozilla/5.0 ", SENT, LATER)
    assert is_machine_open("", SENT, LATER)


def test_crawler_agents_from_the_bot_list_are_machines():
    assert is_machine_open("Barracuda link scanner (bot)", SENT, LATER)
    assert is_machine_open("python-requests/2.31", SENT, LATER)


def test_people_and_on_open_proxies_are_people():
    assert not is_machine_open(MAC, SENT, LATER)
    assert not is_machine_open(GMAIL, SENT, SENT + datetime.timedelta(seconds=0.5))
    assert not is_machine_open(None, None, None)


def test_an_open_within_seconds_of_sending_is_a_scanners():
    assert is_machine_open(MAC, SENT, SENT + datetime.timedelta(seconds=1))
    assert is_machine_open(None, SENT, SENT + datetime.timedelta(seconds=1))
    assert not is_machine_open(None, SENT, SENT + datetime.timedelta(seconds=3))
    with override_settings(WAGTAIL_SEGMENTS={"EMAIL_MACHINE_OPEN_SECONDS": 10}):
        assert is_machine_open(None, SENT, SENT + datetime.timedelta(seconds=3))
