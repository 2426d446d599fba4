"""CSV export of a segment's members (segments.exporting)."""

from __future__ import annotations

import csv
import io

import pytest

from wagtail_segments.contacts.models import Company, Contact, PropertyDefinition
from wagtail_segments.segments.exporting import export_members, guard_cell, members_csv_lines, members_csv_rows
from wagtail_segments.segments.importing import import_contacts
from wagtail_segments.segments.manual import add_contacts, remove_contacts
from wagtail_segments.segments.models import Membership, Segment

pytestmark = pytest.mark.django_db


@pytest.fixture
def segment():
    PropertyDefinition.objects.create(key="renewal", label="Renewal date", type="date")
    PropertyDefinition.objects.create(key="score", label="Score", type="number")
    PropertyDefinition.objects.create(key="newsletter", label="Newsletter", type="boolean")
    PropertyDefinition.objects.create(key="country", label="Country of birth", type="text")
    segment = Segment.objects.create(name="Dynamic list", slug="list", kind="dynamic")
    ann = Contact.objects.create(
        email="ann@example.com", first_name="Ann", last_name="Lee", phone="+44 20 7946 0958",
        company=Company.objects.create(name="Acme"), country="GB", points=-5,
        properties={"renewal": "2025-01-31", "score": 7.5, "newsletter": True, "country": "NZ", "other": "x"},
    )
    ann.tags.add("vip", "early")
    evil = Contact.objects.create(email="evil@example.com", first_name='=HYPERLINK("http://x","y")',
                                  last_name="@SUM(A1)", phone="-2+3")
    gone = Contact.objects.create(email="gone@example.com")
    Contact.objects.create(email="outsider@example.com")
    add_contacts(segment, [ann, evil, gone], source=Membership.Source.IMPORT)
    remove_contacts(segment, [gone])  # dynamic: an excluded row remains
    assert Membership.objects.filter(segment=segment).count() == 3
    return segment


def read(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_export_has_members_only_with_properties_and_tags(segment):
    out = io.StringIO()
    assert export_members(segment, out) == 2
    rows = read(out.getvalue())
    assert [row["email"] for row in rows] == ["ann@example.com", "evil@example.com"]
    assert list(rows[0]) == [
        "email", "first_name", "last_name", "phone", "company", "country", "points", "tags",
        "properties.country", "newsletter", "renewal", "score", "membership_source", "membership_added_at",
    ]
    ann = rows[0]
    assert (ann["company"], ann["country"], ann["points"], ann["tags"]) == ("Acme", "GB", "-5", "early, vip")
    assert (ann["renewal"], ann["score"], ann["newsletter"], ann["properties.country"]) == ("2025-01-31", "7.5", "true", "NZ")
    assert "other" not in ann  # undeclared properties are not exported
    assert ann["membership_source"] == "import"
    assert len(ann["membership_added_at"]) == 19


def test_formula_injection_is_guarded(segment):
    rows = list(members_csv_rows(segment))
    evil = next(row for row in rows if row[0] == "evil@example.com")
    assert evil[1] == '\'=HYPERLINK("http://x","y")'
    assert evil[2] == "'@SUM(A1)"
    assert evil[3] == "'-2+3"
    ann = next(row for row in rows if row[0] == "ann@example.com")
    assert ann[3] == "'+44 20 7946 0958"
    assert ann[6] == "-5"  # a number is not a formula
    assert [guard_cell(v) for v in ("\tx", "-1.5", "+3", "a=b", None)] == ["'\tx", "-1.5", "+3", "a=b", ""]


def test_streamed_lines_and_batches(segment, django_assert_num_queries):
    lines = list(members_csv_lines(segment))
    assert lines[0].startswith("\ufeffemail,") and len(lines) == 3
    # One query for the property keys, then two per batch (members, their tags) and one to end.
    with django_assert_num_queries(1 + 2 * 2 + 1):
        assert len(list(members_csv_rows(segment, batch_size=1))) == 3


def test_export_imports_back_cleanly(segment):
    out = io.StringIO()
    export_members(segment, out, bom=True)
    Contact.objects.filter(email_key="evil@example.com").update(first_name="changed", phone="")
    copy = Segment.objects.create(name="Copy", slug="copy", kind="static")
    report = import_contacts(io.StringIO(out.getvalue()), segment=copy)
    assert not report.errors and not report.unknown_columns and report.updated == 1
    assert report.ignored_columns == ["membership_source", "membership_added_at"]
    evil = Contact.objects.get(email_key="evil@example.com")
    assert (evil.first_name, evil.phone) == ('=HYPERLINK("http://x","y")', "-2+3")
    assert set(copy.members().values_list("email_key", flat=True)) == {"ann@example.com", "evil@example.com"}
