"""The contacts side of the CSV import (contacts.importing), used without any segment:
contacts written, and the contacts_imported signal that stands in for the post_save and
m2m_changed signals its bulk writes do not send."""

import io

import pytest

from wagtail_segments.contacts.importing import ImportReport, import_contacts
from wagtail_segments.contacts.models import Contact
from wagtail_segments.signals import contacts_imported

pytestmark = pytest.mark.django_db

CSV = b"email,first_name,tags\nsame@example.com,Same,\nchanged@example.com,New,\nnew@example.com,,vip\n"


@pytest.fixture
def heard():
    calls = []

    def receiver(sender, changed_ids, tagged_ids, **kwargs):
        calls.append((set(changed_ids), set(tagged_ids)))

    contacts_imported.connect(receiver)
    yield calls
    contacts_imported.disconnect(receiver)


def test_an_import_without_a_segment_writes_contacts_and_names_those_it_changed(heard):
    Contact.objects.create(email="same@example.com", first_name="Same")
    changed = Contact.objects.create(email="changed@example.com")

    report = import_contacts(io.BytesIO(CSV))

    assert type(report) is ImportReport
    assert (report.created, report.updated, report.unchanged) == (1, 1, 1)
    assert "added to segment" not in report.as_text()
    new = Contact.objects.get(email_key="new@example.com")
    assert heard == [({changed.pk, new.pk}, {new.pk})]


def test_a_dry_run_sends_nothing_and_calls_the_hook_inside_the_rolled_back_chunk(heard):
    seen = []

    def after_chunk(contact_ids):
        seen.append(Contact.objects.filter(pk__in=contact_ids).count())
        return len(contact_ids)

    report = import_contacts(io.BytesIO(CSV), dry_run=True, after_chunk=after_chunk)

    assert report.created == 3 and seen == [3]  # the hook saw the chunk's contacts
    assert not Contact.objects.exists() and heard == []
