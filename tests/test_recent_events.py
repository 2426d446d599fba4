"""``manage.py recent_events`` shows a developer what tracking recorded."""

from io import StringIO

import pytest
from django.core.management import call_command

from tests import factories

pytestmark = pytest.mark.django_db


def recent_events(*args) -> list[str]:
    out = StringIO()
    call_command("recent_events", *args, stdout=out)
    return out.getvalue().splitlines()


def test_the_newest_events_come_first_with_their_contact_and_path():
    known = factories.contact(email="ann@example.com")
    anonymous = factories.contact()
    factories.event(anonymous, path="/first/")
    factories.event(known, "form_submission", path="/contact/")
    lines = recent_events()
    assert len(lines) == 2
    assert "form_submission" in lines[0] and "(ann@example.com)" in lines[0] and "/contact/" in lines[0]
    assert "page_view" in lines[1] and "(anonymous)" in lines[1] and "/first/" in lines[1]


def test_n_limits_how_many_are_shown():
    visitor = factories.contact()
    for number in range(5):
        factories.event(visitor, path=f"/{number}/")
    assert [line.split()[-1] for line in recent_events("-n", "2")] == ["/4/", "/3/"]


def test_an_empty_log_says_what_is_not_tracked():
    (line,) = recent_events()
    assert "curl" in line and "staff" in line and "Do Not Track" in line
