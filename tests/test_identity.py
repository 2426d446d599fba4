"""The contact cookie and merging contacts."""

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from tests import factories
from wagtail_segments.conf import settings as conf
from wagtail_segments.contacts.identity import (
    apply_contact_cookie,
    contact_id_from_cookie,
    merge_contacts,
    resolve_contact,
    set_visitor_contact,
)
from wagtail_segments.contacts.models import normalise_email
from wagtail_segments.models import Company, Contact, Event

pytestmark = pytest.mark.django_db


def cookie_for(contact_id):
    request = RequestFactory().get("/")
    set_visitor_contact(request, contact_id)
    response = apply_contact_cookie(request, HttpResponse())
    return response.cookies[conf.COOKIE_NAME].value


def request_with(value):
    request = RequestFactory().get("/")
    request.COOKIES[conf.COOKIE_NAME] = value
    return request


def test_signed_cookie_round_trips():
    assert contact_id_from_cookie(request_with(cookie_for(42))) == 42


@pytest.mark.parametrize(
    "value", ["42", "42:forged", "abc:def:ghi", "", "x" * 500, "-1:a:b", "42:AAAAAA:" + "A" * 27]
)
def test_forged_or_malformed_cookie_reads_as_no_contact(value):
    assert contact_id_from_cookie(request_with(value)) is None


def test_tampered_contact_id_reads_as_no_contact():
    value = cookie_for(42)
    assert contact_id_from_cookie(request_with("43" + value[2:])) is None


def test_email_is_unique_ignoring_case_and_surrounding_spaces():
    from django.db import IntegrityError, transaction

    factories.contact(email="Ann@Example.com ")
    assert normalise_email("  ANN@example.COM") == "ann@example.com"
    assert Contact.objects.with_email("ann@EXAMPLE.com").count() == 1
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.contact(email="ann@example.com")
    # Many contacts may have no email at all.
    factories.contact()
    factories.contact(email="  ")
    assert Contact.objects.filter(email_key__isnull=True).count() == 2


def test_merge_moves_history_and_combines_state():
    company = Company.objects.create(name="Acme")
    into = factories.contact(email="ann@example.com", first_name="Ann", points=10, do_not_sms=True)
    source = factories.contact(last_name="Lee", company=company, points=3, do_not_email=True,
                               do_not_email_reason="bounced", properties={"plan": "pro"})
    into.properties = {"plan": "basic"}
    into.save()
    source.tags.add("a", "b")
    into.tags.add("b", "c")
    factories.event(source)
    factories.event(source, kind="custom")
    older = factories.contact()
    older.merged_into = source
    older.save()

    survivor = merge_contacts(source, into)

    survivor.refresh_from_db()
    source.refresh_from_db()
    older.refresh_from_db()
    assert survivor.first_name == "Ann" and survivor.last_name == "Lee" and survivor.company == company
    assert survivor.points == 13
    assert survivor.do_not_email and survivor.do_not_email_reason == "bounced" and survivor.do_not_sms
    assert survivor.properties == {"plan": "basic"}
    assert set(survivor.tags.names()) == {"a", "b", "c"}
    assert survivor.events.filter(kind__in=["page_view", "custom"]).count() == 2
    merge_event = survivor.events.get(kind="merge")
    assert merge_event.data == {"merged_contact": str(source.uuid), "events_moved": 2}
    assert source.merged_into == survivor and source.points == 0 and not source.tags.exists()
    assert older.merged_into == survivor
    assert resolve_contact(older.pk) == survivor


def test_merging_a_contact_into_itself_changes_nothing():
    contact = factories.contact(email="a@example.com")
    assert merge_contacts(contact, contact) == contact
    assert not Event.objects.exists()


def test_an_empty_email_names_no_contact():
    factories.contact()
    assert not Contact.objects.with_email("").exists()
    assert not Contact.objects.with_email("   ").exists()


def test_a_duplicate_email_is_a_form_error_not_a_crash():
    from django.core.exceptions import ValidationError

    factories.contact(email="ann@example.com")
    other = factories.contact(email="bo@example.com")
    other.email = " ANN@example.com"
    with pytest.raises(ValidationError) as error:
        other.full_clean()
    assert "email" in error.value.message_dict
