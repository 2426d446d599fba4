"""Touchpoints: logging that a contact was reached, as a row and as an event on the contact."""

import datetime

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from tests import factories
from wagtail_segments.contacts.models import Event, Touchpoint
from wagtail_segments.contacts.touchpoints import log_touchpoint

pytestmark = pytest.mark.django_db


NOW = timezone.now()


def days_ago(n):
    return NOW - datetime.timedelta(days=n)


def test_log_touchpoint_derives_automatic_from_the_kind_and_records_an_event():
    contact = factories.contact(email="ann@example.com")
    call = log_touchpoint(contact, "call", note="Asked about pricing")
    email = log_touchpoint(contact, Touchpoint.Kind.EMAIL)
    assert (call.kind, call.automatic, call.note) == ("call", False, "Asked about pricing")
    assert (email.kind, email.automatic) == ("email", True)
    events = list(Event.objects.filter(contact=contact, kind="touchpoint").order_by("pk"))
    assert [e.data for e in events] == [
        {"kind": "call", "automatic": False, "note": "Asked about pricing"},
        {"kind": "email", "automatic": True, "note": ""},
    ]
    assert events[0].time == call.time


def test_log_touchpoint_keeps_the_user_and_time(django_user_model):
    staff = django_user_model.objects.create_user(username="staff", password="x")
    contact = factories.contact()
    touchpoint = log_touchpoint(contact, "meeting", user=staff, time=days_ago(3))
    touchpoint.refresh_from_db()
    assert touchpoint.user == staff
    assert touchpoint.time == days_ago(3)


def test_log_touchpoint_rejects_an_unknown_kind():
    contact = factories.contact()
    with pytest.raises(ValueError, match="fax"):
        log_touchpoint(contact, "fax")
    assert not Touchpoint.objects.exists() and not Event.objects.exists()


def test_log_touchpoint_on_a_merged_contact_goes_to_the_survivor():
    survivor = factories.contact(email="s@example.com")
    old = factories.contact(merged_into=survivor)
    touchpoint = log_touchpoint(old, "note")
    assert touchpoint.contact == survivor


def test_log_touchpoint_command(capsys, django_user_model):
    django_user_model.objects.create_user(username="staff", password="x")
    contact = factories.contact(email="Ann@Example.com")
    call_command("log_touchpoint", " ann@example.COM ", "call", "--note", "Renewal", "--user", "staff")
    touchpoint = Touchpoint.objects.get()
    assert (touchpoint.contact, touchpoint.kind, touchpoint.automatic, touchpoint.note) == (
        contact, "call", False, "Renewal"
    )
    assert touchpoint.user.username == "staff"
    assert "Logged a call (manual)" in capsys.readouterr().out
    with pytest.raises(CommandError, match="No contact"):
        call_command("log_touchpoint", "nobody@example.com", "call")
    with pytest.raises(CommandError):
        call_command("log_touchpoint", "ann@example.com", "fax")
