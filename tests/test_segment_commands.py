"""The segment management commands end to end: import_contacts, export_segment,
rebuild_segments, add_to_segment and remove_from_segment."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from wagtail_segments.contacts.models import Contact
from wagtail_segments.segments import receivers
from wagtail_segments.segments.models import Membership, Segment

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_pending_reevaluation():
    yield
    receivers._pending.buffer = None


def run(*args, **kwargs) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO(), **kwargs)
    return out.getvalue()


@pytest.fixture
def static():
    return Segment.objects.create(name="Newsletter", slug="newsletter", kind="static")


@pytest.fixture
def vips():
    return Segment.objects.create(
        name="VIPs", slug="vips", kind="dynamic",
        rules=[{"type": "tags", "value": {"operator": "any", "tags": "vip", "negate": False}}],
    )


def write(tmp_path, text: str, name: str = "contacts.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return str(path)


def test_import_contacts_command(tmp_path, static):
    path = write(tmp_path, "Mail;Vorname;Notiz;Egal\nann@example.com;Ann;hi;x\nbad;B;;\n")
    output = run("import_contacts", path, "--segment", "newsletter",
                 "--map", "Mail=email", "--map", "Vorname=first_name", "--map", "Notiz=properties.note",
                 "--map", "Egal=")
    assert "2 rows read: 1 contacts created" in output
    assert "line 3:" in output and "not a valid email" in output
    assert "1 contact added to segment “newsletter”" in output
    ann = Contact.objects.get(email_key="ann@example.com")
    assert (ann.first_name, ann.properties) == ("Ann", {"note": "hi"})
    assert list(static.members()) == [ann]


def test_import_contacts_command_failures(tmp_path, static):
    with pytest.raises(CommandError, match="No row was imported"):
        run("import_contacts", write(tmp_path, "email\nnope\n"))
    with pytest.raises(CommandError, match="No row was imported"):
        run("import_contacts", write(tmp_path, "name\nAnn\n"))
    with pytest.raises(CommandError, match="No segment"):
        run("import_contacts", write(tmp_path, "email\na@example.com\n"), "--segment", "missing")
    with pytest.raises(CommandError, match="No such file"):
        run("import_contacts", str(tmp_path / "missing.csv"))
    with pytest.raises(CommandError, match="Unknown import target"):
        run("import_contacts", write(tmp_path, "email\na@example.com\n"), "--map", "email=mail")
    with pytest.raises(CommandError, match="HEADER=TARGET"):
        run("import_contacts", write(tmp_path, "email\na@example.com\n"), "--map", "email")
    assert not Contact.objects.exists()


def test_import_contacts_dry_run_and_no_update(tmp_path, static):
    Contact.objects.create(email="ann@example.com", first_name="Ann")
    path = write(tmp_path, "email,first_name\nann@example.com,Annie\nbob@example.com,Bob\n")
    output = run("import_contacts", path, "--segment", "newsletter", "--dry-run")
    assert "Dry run" in output
    assert Contact.objects.count() == 1 and not static.members().exists()
    run("import_contacts", path, "--segment", "newsletter", "--no-update", "--source", "api")
    assert Contact.objects.get(email_key="ann@example.com").first_name == "Ann"
    assert static.members().count() == 2
    assert set(Membership.objects.values_list("source", flat=True)) == {"api"}


def test_export_segment_command(tmp_path, static):
    ann = Contact.objects.create(email="ann@example.com", first_name="=1+1")
    Contact.objects.create(email="other@example.com")
    run("add_to_segment", "newsletter", "ann@example.com")
    rows = list(csv.DictReader(io.StringIO(run("export_segment", "newsletter"))))
    assert [(row["email"], row["first_name"]) for row in rows] == [("ann@example.com", "'=1+1")]
    target = tmp_path / "out.csv"
    call_command("export_segment", "newsletter", "-o", str(target), "--bom", stdout=io.StringIO(), stderr=io.StringIO())
    data = target.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfemail,") and b"ann@example.com" in data
    with pytest.raises(CommandError):
        run("export_segment", "missing")
    assert ann.segment_memberships.get().source == "manual"


def test_rebuild_segments_command(vips, static):
    vip = Contact.objects.create(email="vip@example.com")
    vip.tags.add("vip")
    Contact.objects.create(email="plain@example.com")
    output = run("rebuild_segments", "--segment", "vips")
    assert output.startswith("vips: 1 entered, 0 left, 1 members, ")
    assert list(vips.members()) == [vip]
    vip.tags.clear()
    output = run("rebuild_segments")  # every active dynamic segment
    assert "vips: 0 entered, 1 left, 0 members" in output
    assert "newsletter" not in output
    assert "static" in run("rebuild_segments", "--segment", "newsletter")
    with pytest.raises(CommandError, match="No segment"):
        run("rebuild_segments", "--segment", "missing")


def test_add_and_remove_commands(tmp_path, vips):
    ann = Contact.objects.create(email="Ann@Example.com")
    bob = Contact.objects.create(email="bob@example.com")
    bob.tags.add("vip")
    emails = write(tmp_path, "bob@example.com\n\nnew@example.com\n", name="emails.txt")
    output = run("add_to_segment", "vips", " ann@example.COM", "nobody@example.com", "--file", emails)
    assert "2 added" in output and "nobody@example.com" in output and "new@example.com" in output
    assert set(vips.members()) == {ann, bob}
    output = run("add_to_segment", "vips", "new@example.com", "not an email", "--create")
    assert "1 added" in output and "1 contacts created" in output and "not an email" in output
    assert vips.members().filter(email_key="new@example.com").exists()

    output = run("remove_from_segment", "vips", "bob@example.com", "nobody@example.com")
    assert "1 removed" in output and "nobody@example.com" in output
    # Excluded by hand: the rules do not bring bob back.
    run("rebuild_segments", "--segment", "vips")
    assert not vips.members().filter(pk=bob.pk).exists()
    assert Membership.objects.get(segment=vips, contact=bob).excluded
    run("add_to_segment", "vips", "bob@example.com")
    assert vips.members().filter(pk=bob.pk).exists()
    vips.refresh_from_db()
    assert vips.member_count == 3
