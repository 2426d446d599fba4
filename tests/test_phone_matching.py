"""An inbound text reaches the contacts whose phone is its number however the phone was
written: every write path keeps ``Contact.phone_e164``, the backfill and ``normalise_phones``
fill it for rows written before, and the lookup is an index search, not a table scan."""

import importlib
import io
import json

import pytest
from django.apps import apps
from django.core.management import call_command
from django.test import Client

from tests import factories
from tests.query_plans import query_plan
from tests.test_admin_contact_form import posted
from tests.test_campaign_actions import run_one
from wagtail_segments.contacts.identity import merge_contacts
from wagtail_segments.contacts.importing import import_contacts as import_into_contacts
from wagtail_segments.contacts.models import Contact, Event
from wagtail_segments.contacts.phone import renormalise_phones
from wagtail_segments.privacy import erase_contact
from wagtail_segments.segments.importing import import_contacts
from wagtail_segments.segments.models import Segment

pytestmark = pytest.mark.django_db

TOKEN = "s3cret-inbound-token"
TYPED = "06 12 34 56 78"  # a French mobile as people type it
NUMBER = "+33612345678"  # the number the provider posts


@pytest.fixture(autouse=True)
def french_site(settings, sms_outbox):
    settings.WAGTAIL_SEGMENTS = {**settings.WAGTAIL_SEGMENTS, "SMS_INBOUND_TOKEN": TOKEN, "SMS_DEFAULT_REGION": "FR"}


def stop_from(number: str = NUMBER) -> None:
    response = Client().post(f"/_segments/sms/inbound/{TOKEN}/", json.dumps({"from": number, "body": "STOP"}),
                             content_type="application/json")
    assert response.status_code == 200


def opted_out(contact) -> bool:
    contact.refresh_from_db()
    return contact.do_not_sms


def test_a_contact_saved_by_code_is_reached_and_a_changed_phone_moves_the_match():
    ann = factories.contact(phone=TYPED)
    assert ann.phone_e164 == NUMBER and Contact.objects.get().phone == TYPED  # kept as typed

    ann.phone = "07 81 23 45 67"
    ann.save(update_fields=["phone"])
    stop_from(NUMBER)
    assert not opted_out(ann)
    stop_from("+33781234567")
    assert opted_out(ann)


def test_an_invalid_or_empty_phone_is_blank_and_matches_nothing():
    for phone in ("call me", "+33 6 12", ""):
        assert factories.contact(phone=phone).phone_e164 == ""
    stop_from()
    assert not Contact.objects.filter(do_not_sms=True).exists()


def test_a_phone_typed_in_the_admin_contact_form_is_reached(admin_client):
    ann = factories.contact(email="ann@example.com")
    url = f"/admin/wagtail_segments/contact/edit/{ann.pk}/"
    data = posted(admin_client.get(url).content.decode())
    data["phone"] = TYPED
    assert admin_client.post(url, data).status_code == 302

    stop_from()
    assert opted_out(ann)


def test_a_phone_given_in_a_form_submission_is_reached(browser_client):
    page = factories.form_page(fields=[("Email", "email"), ("Phone", "singleline")])
    assert browser_client.post(page.url, {"email": "ann@example.com", "phone": TYPED}).status_code == 200
    ann = Contact.objects.get(email="ann@example.com")
    assert ann.phone == TYPED

    stop_from()
    assert opted_out(ann)


def test_a_phone_imported_into_a_segment_is_reached():
    segment = Segment.objects.create(name="Imported", slug="imported", kind=Segment.Kind.STATIC)
    report = import_contacts(io.BytesIO(f"email,phone\nann@example.com,{TYPED}\nbob@example.com,nope\n".encode()),
                             segment=segment)
    assert report.created == 2

    stop_from()
    assert opted_out(Contact.objects.get(email="ann@example.com"))
    assert Contact.objects.get(email="bob@example.com").phone_e164 == ""


def test_a_phone_changed_by_an_import_moves_the_match():
    ann = factories.contact(email="ann@example.com", phone="07 81 23 45 67")
    report = import_into_contacts(io.BytesIO(f"email,phone\nann@example.com,{TYPED}\n".encode()))
    assert report.updated == 1

    stop_from("+33781234567")
    assert not opted_out(ann)
    stop_from()
    assert opted_out(ann)


def test_a_phone_set_by_a_campaign_is_reached():
    ann = factories.contact()
    run_one("set_field", ann, field="phone", value=TYPED)

    stop_from()
    assert opted_out(ann)


def test_a_merge_moves_the_number_to_the_surviving_contact():
    visitor = factories.contact(phone=TYPED)
    ann = factories.contact(email="ann@example.com")

    merge_contacts(visitor, ann)

    visitor.refresh_from_db()
    assert (visitor.phone, visitor.phone_e164) == ("", "")
    stop_from()
    assert opted_out(ann)
    assert not Event.objects.filter(contact=visitor).exists()


def test_an_erased_contact_is_reached_no_more():
    ann = factories.contact(email="ann@example.com", phone=TYPED)
    erase_contact(ann)

    stop_from()
    assert not Event.objects.exists() and not Contact.objects.exists()


def test_the_migration_backfills_rows_written_before_the_column():
    contacts = [factories.contact(phone=phone) for phone in (TYPED, "+44 7911 123456", "nope", "", "0612345679")]
    Contact.objects.update(phone_e164="")  # as the rows were before the migration
    migration = importlib.import_module("wagtail_segments.migrations.0017_contact_phone_e164_backfill")

    migration.backfill(apps, None)

    assert [Contact.objects.get(pk=c.pk).phone_e164 for c in contacts] == [
        NUMBER, "+447911123456", "", "", "+33612345679"]


def test_the_backfill_goes_by_primary_key_batches_and_writes_only_what_differs():
    for n in range(5):
        factories.contact(phone=f"06 12 34 56 7{n}")
    Contact.objects.update(phone_e164="")

    assert renormalise_phones(Contact.objects.all(), batch_size=2) == 5
    assert sorted(Contact.objects.values_list("phone_e164", flat=True)) == [f"+3361234567{n}" for n in range(5)]
    assert renormalise_phones(Contact.objects.all(), batch_size=2) == 0  # a second run changes nothing


def test_after_a_change_of_default_region_normalise_phones_reads_the_numbers_again(settings):
    settings.WAGTAIL_SEGMENTS = {**settings.WAGTAIL_SEGMENTS, "SMS_DEFAULT_REGION": None}
    ann = factories.contact(phone=TYPED)
    assert ann.phone_e164 == ""  # a national number means nothing without a region

    settings.WAGTAIL_SEGMENTS = {**settings.WAGTAIL_SEGMENTS, "SMS_DEFAULT_REGION": "FR"}
    stop_from()
    assert not opted_out(ann)  # still as read when it was saved
    out = io.StringIO()
    call_command("normalise_phones", stdout=out)
    assert "1 contact(s) changed (default region: FR)" in out.getvalue()

    stop_from()
    assert opted_out(ann)


def test_the_inbound_lookup_searches_the_phone_index():
    factories.contact(phone=TYPED)
    plan = query_plan(Contact.objects.live().with_phone({NUMBER}))
    assert "wsg_contact_phone_e164" in plan, plan
