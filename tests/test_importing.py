"""CSV import of contacts (segments.importing) and bulk adds of any size (segments.manual)."""

from __future__ import annotations

import io
from unittest import mock

import pytest
from django.utils import timezone

from wagtail_segments.contacts.importing import sniff_delimiter
from wagtail_segments.contacts.models import Company, Contact, ContactTag, PropertyDefinition
from wagtail_segments.segments import receivers
from wagtail_segments.segments.evaluation import rebuild_segment
from wagtail_segments.segments.importing import import_contacts
from wagtail_segments.segments.manual import add_contacts, remove_contacts
from wagtail_segments.segments.models import Membership, Segment

pytestmark = pytest.mark.django_db


@pytest.fixture
def properties():
    PropertyDefinition.objects.create(key="renewal", label="Renewal date", type="date")
    PropertyDefinition.objects.create(key="score", label="Score", type="number")
    PropertyDefinition.objects.create(key="newsletter", label="Newsletter", type="boolean")
    PropertyDefinition.objects.create(key="notes", label="Notes", type="text")


def csv_bytes(text: str, *, bom: bool = False, encoding: str = "utf-8") -> io.BytesIO:
    return io.BytesIO((b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding))


def static_segment(slug: str = "list") -> Segment:
    return Segment.objects.create(name=slug.title(), slug=slug, kind="static")


def tags_of(email: str) -> set[str]:
    return set(Contact.objects.get(email_key=email.casefold()).tags.values_list("name", flat=True))


MIXED = (
    "Email,First name,Last name,Phone,Company,Tags,Renewal,Score,Favourite colour,Country,Points\n"
    "alice@example.com,Alice,Smith,,acme,vip; newsletter|Early,2025-03-01,12,blue,fr,5\n"  # 2 new
    "not-an-email,Bad,Email,,,,,,,,\n"  # 3 bad email
    "bob@example.com,Bob,,,,,31/02/2024,,,,\n"  # 4 unparsable date
    "carol@example.com,Carol,,,,,,lots,,,\n"  # 5 not a number
    "dave@example.com,,Jones,,Globex,,,,,,\n"  # 6 existing: blanks never erase
    "ALICE@example.com ,,Smythe,,,VIP,,,,,\n"  # 7 duplicate: later non-blank wins
    "zoe@example.com,Zoë <b>bold</b>,Яковлева,,,,01/12/2025,\"3,5\",,,\n"  # 8 non-Latin and HTML
    "erin@example.com,Erin\n"  # 9 wrong column count
    ",No,Email,,,,,,,,\n"  # 10 no email
    "frank@example.com,Frank,,,,,,,,France,\n"  # 11 country not two letters
    "\n"  # blank line: not a row
    "grace@example.com,=HYPERLINK(\"x\"),,,,,,,,,-3\n"  # 13 formula text stored as given
)


def test_mixed_file_imports_good_rows_and_reports_bad_ones(properties):
    segment = static_segment()
    before = Contact.objects.create(email="earlier@example.com")
    add_contacts(segment, [before])
    acme = Company.objects.create(name="ACME")
    dave = Contact.objects.create(email="Dave@Example.com", first_name="Dave", phone="123", company=acme)

    report = import_contacts(csv_bytes(MIXED), segment=segment)

    assert report.rows == 11
    assert (report.created, report.updated, report.duplicates, report.skipped) == (3, 1, 1, 6)
    assert report.rows == report.created + report.updated + report.unchanged + report.duplicates + report.skipped
    assert report.unknown_columns == ["Favourite colour"]
    errors = dict(report.errors)
    assert sorted(errors) == [1, 3, 4, 5, 9, 10, 11]
    assert "Favourite colour" in errors[1]
    assert "not a valid email" in errors[3]
    assert "not a date" in errors[4] and "Renewal" in errors[4]
    assert "not a number" in errors[5] and "Score" in errors[5]
    assert "columns" in errors[9]
    assert "No email" in errors[10]
    assert "country" in errors[11]
    assert [line for line, _message in report.warnings] == [7]

    alice = Contact.objects.get(email_key="alice@example.com")
    assert (alice.first_name, alice.last_name, alice.country, alice.points) == ("Alice", "Smythe", "FR", 5)
    assert alice.company == acme  # matched case-insensitively, not created again
    assert alice.properties == {"renewal": "2025-03-01", "score": 12}
    assert tags_of("alice@example.com") == {"vip", "newsletter", "Early"}
    assert ContactTag.objects.filter(name__iexact="vip").count() == 1

    dave.refresh_from_db()
    assert (dave.first_name, dave.last_name, dave.phone) == ("Dave", "Jones", "123")
    assert dave.company.name == "Globex"
    assert dave.email == "Dave@Example.com"

    zoe = Contact.objects.get(email_key="zoe@example.com")
    assert (zoe.first_name, zoe.last_name) == ("Zoë <b>bold</b>", "Яковлева")
    assert zoe.properties == {"renewal": "2025-12-01", "score": 3.5}
    grace = Contact.objects.get(email_key="grace@example.com")
    assert grace.first_name == '=HYPERLINK("x")' and grace.points == -3

    assert not Contact.objects.filter(email_key__in=["bob@example.com", "carol@example.com", "erin@example.com"]).exists()
    members = set(segment.members().values_list("email_key", flat=True))
    assert members == {"earlier@example.com", "alice@example.com", "dave@example.com", "zoe@example.com",
                       "grace@example.com"}
    assert report.added_to_segment == 4
    segment.refresh_from_db()
    assert segment.member_count == 5
    assert set(Membership.objects.filter(segment=segment).values_list("source", flat=True)) == {"manual", "import"}
    assert "line 3:" in report.as_text() and "4 contacts added" in report.as_text()


def test_bom_semicolons_and_text_files():
    text = "E-mail;Last name;Tags\nann@example.com;Müller;a,b\n\"bo;b@example.com\";x;\n"
    assert sniff_delimiter(text.splitlines()[0]) == ";"
    report = import_contacts(csv_bytes(text, bom=True))
    assert report.created == 1 and report.skipped == 1
    assert Contact.objects.get(email_key="ann@example.com").last_name == "Müller"
    assert tags_of("ann@example.com") == {"a", "b"}
    # A text-mode file with a BOM character, CRLF endings, a path too.
    report = import_contacts(io.StringIO("\ufeffemail,first_name\r\ncid@example.com,Cid\r\n"))
    assert report.created == 1 and not report.errors
    assert Contact.objects.get(email_key="cid@example.com").first_name == "Cid"


def test_import_from_path(tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text("email\nx@example.com\n", encoding="utf-8")
    assert import_contacts(path).created == 1
    assert import_contacts(str(path)).unchanged == 1


def test_mapping_and_undeclared_properties(properties):
    text = "Courriel,Prénom,Note interne,Date,Secret\nann@example.com,Ann,hello,2024-01-02,s3\n"
    report = import_contacts(csv_bytes(text), mapping={
        "courriel": "email", " PRÉNOM ": "first_name", "Note interne": "properties.internal_note",
        "Date": "properties.renewal", "Secret": None,
    })
    assert report.created == 1 and not report.errors and not report.unknown_columns
    assert report.ignored_columns == ["Secret"]
    ann = Contact.objects.get(email_key="ann@example.com")
    assert ann.first_name == "Ann"
    assert ann.properties == {"internal_note": "hello", "renewal": "2024-01-02"}
    with pytest.raises(ValueError, match="Unknown import target"):
        import_contacts(csv_bytes(text), mapping={"Courriel": "mail"})


def test_property_headers_by_key_label_and_prefix(properties):
    text = "email,Renewal date,properties.score,NEWSLETTER,properties.colour\nann@example.com,2024-05-06,7,yes,red\n"
    report = import_contacts(csv_bytes(text))
    assert not report.errors
    assert Contact.objects.get(email_key="ann@example.com").properties == {
        "renewal": "2024-05-06", "score": 7, "newsletter": True, "colour": "red",
    }


def test_no_email_column_is_fatal_and_empty_file():
    report = import_contacts(csv_bytes("name,phone\nAnn,1\n"))
    assert report.failed and "no email column" in report.fatal
    assert import_contacts(csv_bytes("")).failed
    header_only = import_contacts(csv_bytes("email\n"))
    assert header_only.rows == 0 and not header_only.failed


def test_every_row_failing_marks_the_report_failed():
    report = import_contacts(csv_bytes("email\nnope\nalso-nope\n"))
    assert report.failed and report.skipped == 2


def test_unclosed_quote_loses_only_its_line():
    text = 'email,first_name\na@example.com,"Ann\nb@example.com,Bob\nc@example.com,"Cy"\nd@example.com,Di\n'
    report = import_contacts(csv_bytes(text))
    assert [line for line, _m in report.errors] == [2]
    assert set(Contact.objects.values_list("first_name", flat=True)) == {"Bob", "Cy", "Di"}


def test_quoted_line_breaks_in_text_properties_are_kept(properties):
    text = 'email,notes\na@example.com,"line one\nline two"\nb@example.com,x\n'
    report = import_contacts(csv_bytes(text))
    assert report.created == 2 and not report.errors
    assert Contact.objects.get(email_key="a@example.com").properties["notes"] == "line one\nline two"


def test_a_line_that_is_not_utf8_is_reported_alone():
    data = b"email,first_name\nann@example.com,Ann\nbea@example.com,B\xe9a\ncid@example.com,C\xc3\xafd\n"
    report = import_contacts(io.BytesIO(data))
    assert report.created == 2
    assert report.errors[0][0] == 3 and "UTF-8" in report.errors[0][1]
    assert Contact.objects.get(email_key="cid@example.com").first_name == "Cïd"
    assert import_contacts(io.BytesIO("email\n".encode("utf-16"))).failed


def test_update_existing_false_leaves_contacts_but_adds_them_to_the_segment():
    segment = static_segment()
    Contact.objects.create(email="ann@example.com", first_name="Ann")
    report = import_contacts(
        csv_bytes("email,first_name,tags\nann@example.com,Annie,x\nnew@example.com,New,x\n"),
        segment=segment, update_existing=False,
    )
    assert (report.created, report.updated, report.unchanged) == (1, 0, 1)
    ann = Contact.objects.get(email_key="ann@example.com")
    assert ann.first_name == "Ann" and not ann.tags.exists()
    assert segment.members().count() == 2


def test_duplicates_across_chunks_and_query_count(django_assert_max_num_queries):
    segment = static_segment()
    Contact.objects.create(email="old@example.com")
    rows = [f"user{i}@example.com,User {i},t{i % 3}" for i in range(1200)]
    rows += ["user5@example.com,Again,", "old@example.com,Old,", "OLD@example.com,Older,"]
    text = "email,first_name,tags\n" + "\n".join(rows) + "\n"
    # Set-based: a few queries a chunk (bulk inserts split in batches on SQLite), never one a row.
    with django_assert_max_num_queries(200):
        report = import_contacts(csv_bytes(text), segment=segment, chunk_size=250)
    assert (report.rows, report.created, report.updated, report.duplicates) == (1203, 1200, 1, 2)
    assert Contact.objects.get(email_key="user5@example.com").first_name == "Again"
    assert Contact.objects.get(email_key="old@example.com").first_name == "Older"
    segment.refresh_from_db()
    assert segment.member_count == 1201 == report.added_to_segment
    assert ContactTag.objects.count() == 3


def test_dry_run_saves_nothing():
    segment = static_segment()
    report = import_contacts(csv_bytes("email,company,tags\nann@example.com,Acme,x\nbad,,\n"),
                             segment=segment, dry_run=True)
    assert (report.created, report.skipped, report.added_to_segment) == (1, 1, 1)
    assert not Contact.objects.exists() and not Company.objects.exists() and not ContactTag.objects.exists()
    assert not Membership.objects.exists()
    assert "Dry run" in report.as_text()


def test_changed_contacts_are_marked_for_reevaluation():
    kept = Contact.objects.create(email="same@example.com", first_name="Same")
    changed = Contact.objects.create(email="changed@example.com")
    with mock.patch.object(receivers, "mark_contacts_changed") as mark:
        import_contacts(csv_bytes(
            "email,first_name,tags\nsame@example.com,Same,\nchanged@example.com,New,\nnew@example.com,,vip\n"
        ))
    new = Contact.objects.get(email_key="new@example.com")
    calls = {call.args[1]: set(call.args[0]) for call in mark.call_args_list}
    assert calls == {"contact": {changed.pk, new.pk}, "tags": {new.pk}}
    assert kept.pk not in calls["contact"]


def test_import_into_dynamic_segment_is_sticky():
    segment = Segment.objects.create(
        name="VIPs", slug="vips", kind="dynamic",
        rules=[{"type": "tags", "value": {"operator": "any", "tags": "vip", "negate": False}}],
    )
    vip = Contact.objects.create(email="vip@example.com")
    vip.tags.add("vip")
    rebuild_segment(segment)
    assert list(segment.members()) == [vip]

    report = import_contacts(csv_bytes("email\nplain@example.com\nvip@example.com\n"), segment=segment)
    assert report.added_to_segment == 1
    plain = Contact.objects.get(email_key="plain@example.com")
    rebuild_segment(segment)
    assert set(segment.members()) == {vip, plain}
    assert Membership.objects.get(segment=segment, contact=plain).source == "import"
    assert Membership.objects.get(segment=segment, contact=vip).source == "import"  # now sticky too
    # Removing by hand keeps it out, whatever the rules say; importing again brings it back.
    remove_contacts(segment, [vip])
    rebuild_segment(segment)
    assert set(segment.members()) == {plain}
    import_contacts(csv_bytes("email\nvip@example.com\n"), segment=segment)
    assert set(segment.members()) == {vip, plain}


def test_add_contacts_has_no_size_limit():
    segment = static_segment("big")
    Contact.objects.bulk_create([Contact(first_name=f"c{i}") for i in range(12_000)])
    already = Contact.objects.order_by("pk").first()
    add_contacts(segment, [already])
    added = add_contacts(segment, Contact.objects.all())
    assert added == 11_999
    segment.refresh_from_db()
    assert segment.member_count == 12_000 == Membership.objects.filter(segment=segment).count()
    assert remove_contacts(segment, Contact.objects.filter(first_name__in=["c1", "c2"])) == 2
    segment.refresh_from_db()
    assert segment.member_count == 11_998


def test_an_uploaded_file_is_read_as_it_comes():
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("contacts.csv", "\ufeffEmail;First Name\r\nana@example.com;Ana\r\n".encode(),
                                content_type="text/csv")
    report = import_contacts(upload)
    assert report.created == 1 and not report.errors
    assert Contact.objects.get(email_key="ana@example.com").first_name == "Ana"


def test_imported_contacts_are_not_seen_until_they_visit():
    """A list imported this morning is not "seen in the last 7 days"; its first visit is."""
    from tests import factories
    from tests.segment_helpers import group, members, rule, segment
    from wagtail_segments.contacts.identity import merge_contacts
    from wagtail_segments.contacts.tasks import process_new_events

    import_contacts(csv_bytes("email\nada@example.com\nbob@example.com\n"))
    ada, bob = Contact.objects.get(email="ada@example.com"), Contact.objects.get(email="bob@example.com")
    assert ada.last_seen is None
    visitor = factories.contact(last_seen=timezone.now())  # seen: it has visited
    seen = segment(rule("date", field="last_seen", operator="within_last_days", number=7))
    unseen = segment(rule("date", field="last_seen", operator="within_last_days", number=7, negate=True))
    never = segment(rule("date", field="last_seen", operator="empty"))
    not_both = segment(group("all", rule("date", field="last_seen", operator="within_last_days", number=7),
                             rule("points", operator="gte", points=0), negate=True))
    assert members(seen) == {visitor.pk}
    assert members(unseen) == members(never) == members(not_both) == {ada.pk, bob.pk}

    # Ada clicks through: the pass over new events gives her a last seen.
    page = factories.content_page()
    factories.event(ada, page=page)
    process_new_events()
    ada.refresh_from_db()
    assert ada.last_seen is not None
    assert ada.pk in members(seen)
    # Merging a never-seen contact keeps the survivor's last seen.
    merge_contacts(bob, into=ada)
    ada.refresh_from_db()
    assert ada.last_seen is not None


def test_a_tag_given_by_the_import_enrols_contacts_in_its_campaign_and_answers_waiting_decisions(
        django_capture_on_commit_callbacks):
    from django.db.models.signals import m2m_changed

    from tests import factories
    from tests.test_campaign_decisions import decision_campaign
    from wagtail_segments.campaigns.entry import enrol
    from wagtail_segments.campaigns.executor import run_due_steps
    from wagtail_segments.campaigns.models import Run
    from wagtail_segments.contacts.models import TaggedContact

    welcome = factories.campaign(name="Welcome VIPs", entry_tag="VIP")
    factories.chain(welcome, ("wait", {"days": 1}))
    waiting_for_it, _fork = decision_campaign(did="tagged", tag="vip", days=30)
    ann = Contact.objects.create(email="ann@example.com")  # waits on "got tag vip?"
    had_it = Contact.objects.create(email="had@example.com")
    had_it.tags.add("VIP")
    enrol(waiting_for_it, [ann])
    Run.objects.filter(campaign=welcome).delete()  # had_it's tag enrolled it, as it should: start clean
    signals = []
    m2m_changed.connect(lambda **kw: signals.append(kw["pk_set"]), sender=TaggedContact, weak=False,
                        dispatch_uid="test-import-tags")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            import_contacts(csv_bytes(
                "email,tags\nann@example.com,vip\nhad@example.com,vip\nnew@example.com,VIP; other\n"
                "plain@example.com,\n"
            ))
    finally:
        m2m_changed.disconnect(sender=TaggedContact, dispatch_uid="test-import-tags")

    new = Contact.objects.get(email="new@example.com")
    entered = set(Run.objects.filter(campaign=welcome).values_list("contact_id", "source"))
    assert entered == {(ann.pk, "tag"), (new.pk, "tag")}  # not had_it (no tag added), not plain
    assert sorted(map(sorted, signals)) == sorted([[new.pk], [ann.pk, new.pk]])  # one per tag, not per contact
    run_due_steps()
    assert sorted(ann.tags.names()) == ["VIP", "yes"]
