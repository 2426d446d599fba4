"""Form submissions: the contact is identified by email, answers are copied by the mapping,
and an anonymous history joins the known contact."""

import pytest
from django.test import Client
from wagtail.contrib.forms.models import FormSubmission

from tests import factories
from tests.conftest import BROWSER_UA
from wagtail_segments.conf import settings as conf
from wagtail_segments.models import Company, Contact, Event, PropertyDefinition

pytestmark = pytest.mark.django_db


def submit(client, page, **answers):
    response = client.post(page.url, answers)
    assert response.status_code == 200, response.content[:500]
    return response


def test_submission_creates_a_contact_with_mapped_answers(browser_client):
    page = factories.form_page()
    submit(browser_client, page, first_name="Ann", last_name="Lee", email=" Ann@Example.com ",
           company="Acme", message="Call me")
    contact = Contact.objects.get()
    assert contact.email == "Ann@Example.com"
    assert (contact.first_name, contact.last_name) == ("Ann", "Lee")
    assert contact.company == Company.objects.get(name="Acme")
    assert contact.properties == {"message": "Call me"}
    event = Event.objects.get(kind="form_submission")
    assert event.contact == contact and event.page_id == page.pk
    submission = FormSubmission.objects.get()
    assert event.data["submission"] == f"wagtailforms.formsubmission:{submission.pk}"
    assert event.data["answers"]["message"] == "Call me"


def test_same_email_in_any_case_and_spacing_is_one_contact(browser_client):
    page = factories.form_page()
    submit(browser_client, page, email="ann@example.com")
    other = Client(HTTP_USER_AGENT=BROWSER_UA)
    submit(other, page, email="  ANN@example.COM ")
    assert Contact.objects.count() == 1
    assert Event.objects.filter(kind="form_submission").count() == 2


def test_submission_merges_the_anonymous_history_into_the_known_contact(browser_client):
    known = factories.contact(email="ann@example.com", first_name="Ann")
    known.tags.add("customer")
    pricing = factories.content_page("Pricing")
    form = factories.form_page()
    browser_client.get(pricing.url)
    browser_client.get(pricing.url)
    anonymous = Contact.objects.get(email_key__isnull=True)
    anonymous.tags.add("visited-pricing")
    anonymous.points = 5
    anonymous.save()
    submit(browser_client, form, email="ANN@example.com", first_name="Mallory")
    known.refresh_from_db()
    anonymous.refresh_from_db()
    assert known.events.filter(kind="page_view").count() == 2
    assert known.events.filter(kind="merge").count() == 1
    assert known.events.filter(kind="form_submission").count() == 1
    assert set(known.tags.names()) == {"customer", "visited-pricing"}
    assert known.points == 5
    # An unverified claim fills blanks but never overwrites what the contact had.
    assert known.first_name == "Ann"
    assert anonymous.merged_into == known and not anonymous.events.exists()
    # The cookie still names the merged-away row: typing an email is not proof of identity.
    assert browser_client.cookies[conf.COOKIE_NAME].value.startswith(f"{anonymous.pk}:")


def test_first_submission_identifies_the_visitors_anonymous_contact(browser_client):
    page = factories.content_page()
    form = factories.form_page()
    browser_client.get(page.url)
    visitor = Contact.objects.get()
    submit(browser_client, form, email="bo@example.com", first_name="Bo")
    visitor.refresh_from_db()
    assert visitor.email == "bo@example.com" and visitor.first_name == "Bo"
    assert Contact.objects.count() == 1
    # Now that the visitor is the contact, a later answer updates the field.
    submit(browser_client, form, email="bo@example.com", first_name="Bob")
    visitor.refresh_from_db()
    assert visitor.first_name == "Bob"


def test_a_different_email_on_a_known_visitors_browser_is_another_contact(browser_client):
    form = factories.form_page()
    submit(browser_client, form, email="one@example.com")
    submit(browser_client, form, email="two@example.com")
    assert set(Contact.objects.values_list("email", flat=True)) == {"one@example.com", "two@example.com"}


def test_answers_are_stored_as_given_and_shown_escaped(browser_client, admin_client):
    form = factories.form_page(
        fields=[("Email", "email"), ("Message", "multiline"), ("Notes", "multiline"), ("Company", "singleline")]
    )
    html = '<script>alert("x")</script><b>bold</b>'
    long = "ä" * 10_000
    scripts = "東京 — Ελληνικά — עברית — 😀"
    submit(browser_client, form, email="x@example.com", message=html, company=scripts, notes=long)
    event = Event.objects.get(kind="form_submission")
    assert event.data["answers"]["message"] == html
    assert event.data["answers"]["notes"] == long
    assert event.data["answers"]["company"] == scripts
    contact = event.contact
    assert contact.properties["message"] == html
    assert contact.company.name == scripts
    assert contact.properties["notes"] == long
    page = admin_client.get(f"/admin/wagtail_segments/contact/inspect/{contact.pk}/")
    content = page.content.decode()
    assert page.status_code == 200
    assert html not in content
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in content
    assert scripts in content


def test_declared_properties_are_typed_and_bad_values_reported(browser_client):
    PropertyDefinition.objects.create(key="team_size", label="Team size", type="number")
    PropertyDefinition.objects.create(key="renewal", label="Renewal", type="date")
    form = factories.form_page(fields=[("Email", "email"), ("Team size", "singleline"), ("Renewal", "singleline")])
    submit(browser_client, form, email="a@example.com", team_size="12", renewal="2027-03-01")
    submit(Client(HTTP_USER_AGENT=BROWSER_UA), form, email="b@example.com", team_size="many", renewal="soon")
    a = Contact.objects.get(email="a@example.com")
    b = Contact.objects.get(email="b@example.com")
    assert a.properties == {"team_size": 12, "renewal": "2027-03-01"}
    assert b.properties == {}
    errors = Event.objects.get(contact=b, kind="form_submission").data["errors"]
    assert len(errors) == 2 and any("team_size" in e for e in errors)


def test_page_can_override_the_email_field_and_the_mapping(browser_client):
    form = factories.form_page(fields=[("Work email", "singleline"), ("Backup", "email"), ("Org", "singleline")])
    form.segments_email_field = "work_email"
    form.segments_field_mapping = {"org": "company", "backup": None}
    from wagtail_segments.tracking.forms import record_form_submission

    submission = FormSubmission.objects.create(
        page=form, form_data={"work_email": "W@Example.com", "backup": "b@x.org", "org": "Initech"}
    )
    # The post_save handler saw the page as loaded from the database, without the overrides.
    Event.objects.all().delete()
    Contact.objects.all().delete()
    record_form_submission(submission)
    contact = Contact.objects.get()
    assert contact.email == "W@Example.com"
    assert contact.company.name == "Initech"
    assert contact.properties == {}


def test_submission_without_an_email_belongs_to_the_visitor(browser_client):
    form = factories.form_page(fields=[("Question", "singleline")])
    submit(browser_client, form, question="How much?")
    contact = Contact.objects.get()
    assert contact.email == "" and contact.properties == {"question": "How much?"}
    assert conf.COOKIE_NAME in browser_client.cookies


def test_do_not_track_submitter_with_an_email_is_kept_without_cookie_or_details(client):
    form = factories.form_page()
    client.post(form.url, {"email": "dnt@example.com"}, HTTP_USER_AGENT=BROWSER_UA, HTTP_DNT="1")
    contact = Contact.objects.get()
    assert contact.email == "dnt@example.com"
    event = Event.objects.get()
    assert event.path == "" and event.ip is None
    assert conf.COOKIE_NAME not in client.cookies


def test_bot_submissions_are_not_recorded(client):
    form = factories.form_page()
    client.post(form.url, {"email": "bot@example.com"}, HTTP_USER_AGENT="SomeCrawler/1.0")
    assert not Contact.objects.exists()
    assert FormSubmission.objects.count() == 1


def test_malformed_email_answer_is_not_an_identity(browser_client):
    form = factories.form_page(fields=[("Email", "singleline")])
    form.segments_email_field = "email"
    submission = FormSubmission.objects.create(page=form, form_data={"email": "not an email"})
    from wagtail_segments.tracking.forms import record_form_submission

    Event.objects.all().delete()
    Contact.objects.all().delete()
    assert record_form_submission(submission) is None
    assert not Contact.objects.exists()


def test_submission_saved_outside_a_request_is_still_recorded():
    form = factories.form_page()
    FormSubmission.objects.create(page=form, form_data={"email": "shell@example.com", "first_name": "Sh"})
    contact = Contact.objects.get()
    assert contact.email == "shell@example.com" and contact.first_name == "Sh"
    assert contact.events.get().kind == "form_submission"


def test_a_claimed_contact_is_not_overwritten_by_later_forms_without_an_email(browser_client):
    """Typing someone's email merges the visitor's history into theirs, but the visitor's
    later answers (through the merged-away cookie) only fill blanks."""
    victim = factories.contact(email="ann@example.com", first_name="Ann")
    form = factories.form_page()
    question = factories.form_page("Question", fields=[("First name", "singleline"), ("Question", "singleline")])
    browser_client.get(factories.content_page().url)
    submit(browser_client, form, email="ann@example.com")
    submit(browser_client, question, first_name="Mallory", question="hi")
    victim.refresh_from_db()
    assert victim.first_name == "Ann"
    assert victim.properties["question"] == "hi"


def test_form_events_keep_the_site(browser_client):
    form = factories.form_page()
    submit(browser_client, form, email="s@example.com")
    assert Event.objects.get(kind="form_submission").site_id is not None


def test_a_mapping_to_an_unknown_target_copies_nothing(browser_client, settings):
    settings.WAGTAIL_SEGMENTS = {"FORM_FIELD_MAPPING": {"message": "emial"}}
    form = factories.form_page()
    submit(browser_client, form, email="m@example.com", message="hello")
    assert "message" not in Contact.objects.get().properties


def another_submission_takes(monkeypatch, email: str) -> list:
    """Simulate the race deterministically: a concurrent first submission with ``email``
    commits its contact between this submission's lookup by email and its insert."""
    from wagtail_segments.contacts.models import ContactQuerySet

    original = ContactQuerySet.with_email
    rivals = []

    def with_email(self, value):
        if not rivals:
            rivals.append(Contact.objects.create(email=email, first_name="Rival"))
            return self.none()  # what the lookup saw, just before the other commit
        return original(self, value)

    monkeypatch.setattr(ContactQuerySet, "with_email", with_email)
    return rivals


def test_a_first_submission_racing_another_with_the_same_email_joins_its_contact(browser_client, monkeypatch):
    page = factories.form_page()
    rivals = another_submission_takes(monkeypatch, "ann@example.com")
    submit(browser_client, page, email="Ann@Example.com", first_name="Ann", company="Acme")
    rival = rivals[0]
    assert list(Contact.objects.values_list("pk", flat=True)) == [rival.pk]
    assert Event.objects.get(kind="form_submission").contact_id == rival.pk
    rival.refresh_from_db()
    assert rival.first_name == "Rival"  # only claimed: blanks filled, nothing overwritten
    assert rival.company.name == "Acme"


def test_an_anonymous_visitor_racing_another_first_submission_is_merged_into_it(browser_client, monkeypatch):
    page = factories.form_page()
    browser_client.get(factories.content_page().url)
    visitor = Contact.objects.get()
    rivals = another_submission_takes(monkeypatch, "ann@example.com")
    submit(browser_client, page, email="ann@example.com")
    rival = rivals[0]
    visitor.refresh_from_db()
    assert visitor.merged_into_id == rival.pk and visitor.email_key is None
    assert set(Event.objects.filter(kind__in=["page_view", "form_submission"]).values_list("contact_id", flat=True)) == {rival.pk}


@pytest.mark.django_db(transaction=True)
def test_two_first_submissions_with_the_same_email_at_once_end_on_one_contact(monkeypatch):
    """Two visitors, two connections, both past the lookup by email before either inserts.
    On PostgreSQL the second insert waits for the first to commit and then meets the unique
    email key; on SQLite the test's in-memory database cannot be shared by threads, and the
    race is the deterministic one above."""
    import threading

    from django.db import connection

    from wagtail_segments.tracking import forms

    if connection.vendor != "postgresql":
        pytest.skip("needs two real connections (PostgreSQL); SQLite runs the simulated race above")
    page = factories.form_page()
    both_looked_up = threading.Barrier(2, timeout=10)
    original = forms.new_contact_for

    def after_both_lookups(*args, **kwargs):
        both_looked_up.wait()
        return original(*args, **kwargs)

    monkeypatch.setattr(forms, "new_contact_for", after_both_lookups)
    errors = []

    def visitor_submits(first_name):
        try:
            submit(Client(HTTP_USER_AGENT=BROWSER_UA), page, email="ann@example.com", first_name=first_name)
        except Exception as error:  # reported below, in the test's thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=visitor_submits, args=(name,)) for name in ("Ann", "Anna")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    contact = Contact.objects.get()
    assert contact.email == "ann@example.com"
    assert Event.objects.filter(kind="form_submission", contact=contact).count() == 2


def test_answers_with_control_characters_and_unstorable_numbers_are_cleaned_or_reported():
    """Submissions saved by code (or by a custom form) may hold what a form field would refuse:
    the contact and the event get storable values, and a number no JSON column compares alike
    is reported like a bad value."""
    PropertyDefinition.objects.create(key="seats", label="Seats", type="number")
    form = factories.form_page(fields=[("Email", "email"), ("First name", "singleline"), ("Seats", "singleline"),
                                       ("Message", "multiline")])
    FormSubmission.objects.create(page=form, form_data={
        "email": "ann@example.com", "first_name": "An\x01n\x1b", "seats": "1e9999999",
        "message": "line\nnext\x07", "extra": 10**30,
    })
    contact = Contact.objects.get()
    assert contact.first_name == "Ann"
    assert contact.properties == {"message": "line\nnext"}
    data = Event.objects.get(kind="form_submission").data
    assert data["answers"]["message"] == "line\nnext" and "extra" not in data["answers"]
    assert any(error.startswith("seats:") for error in data["errors"])
    assert any(error.startswith("extra:") for error in data["errors"])


# ---- what an editor saved in Marketing → Form mappings


def mapped_form(**mapping):
    from wagtail_segments.models import FormMapping

    form = factories.form_page(fields=[
        ("Work email", "singleline"), ("Backup email", "email"), ("Given", "singleline"), ("Seats", "singleline"),
        ("Notes", "multiline"),
    ])
    FormMapping.objects.create(page=form, **mapping)
    return form


def test_a_submission_follows_the_mapping_an_editor_saved(browser_client):
    PropertyDefinition.objects.create(key="team_size", label="Team size", type="number")
    form = mapped_form(email_field="work_email", targets={
        "given": "first_name", "seats": "properties.team_size", "notes": None,
    })
    submit(browser_client, form, work_email="Ann@Example.com", backup_email="other@example.com", given="Ann",
           seats="1,200", notes="not for the contact")
    contact = Contact.objects.get()
    assert contact.email == "Ann@Example.com"  # the chosen field, not the first email-type one
    assert contact.first_name == "Ann"
    assert contact.properties == {"team_size": 1200, "backup_email": "other@example.com"}
    answers = Event.objects.get(kind="form_submission").data["answers"]
    assert answers["notes"] == "not for the contact"  # ignored for the contact, kept on the event


def test_a_typed_property_chosen_by_an_editor_reports_a_bad_value_and_keeps_the_answer(browser_client):
    PropertyDefinition.objects.create(key="team_size", label="Team size", type="number")
    form = mapped_form(targets={"seats": "properties.team_size"})
    submit(browser_client, form, backup_email="b@example.com", seats="a dozen")
    contact = Contact.objects.get()
    assert "team_size" not in contact.properties
    data = Event.objects.get(kind="form_submission").data
    assert data["errors"] == ["team_size: “a dozen” is not a number."]
    assert data["answers"]["seats"] == "a dozen"


def test_the_editor_overrides_the_pages_code_which_overrides_the_site_setting(browser_client, settings, monkeypatch):
    from example_site.pages.models import FormPage

    settings.WAGTAIL_SEGMENTS = {"FORM_FIELD_MAPPING": {"given": "last_name", "notes": "phone", "seats": "company"}}
    monkeypatch.setattr(FormPage, "segments_field_mapping", {"notes": "first_name", "seats": None}, raising=False)
    form = mapped_form(targets={"seats": "properties.seats"})
    submit(browser_client, form, backup_email="c@example.com", given="Lee", notes="Ann", seats="4")
    contact = Contact.objects.get()
    assert contact.last_name == "Lee"  # the site setting alone
    assert contact.first_name == "Ann" and contact.phone == ""  # the page's code over the setting
    assert contact.properties == {"seats": "4"}  # the editor over the code (which ignored it)


def test_the_editors_email_field_overrides_the_pages_code(monkeypatch):
    from example_site.pages.models import FormPage

    monkeypatch.setattr(FormPage, "segments_email_field", "backup_email", raising=False)
    form = mapped_form(email_field="work_email")
    FormSubmission.objects.create(page=form, form_data={"work_email": "w@example.com", "backup_email": "b@example.com"})
    assert Contact.objects.get().email == "w@example.com"


def test_an_email_field_no_longer_on_the_form_falls_back_to_the_default():
    form = mapped_form(email_field="old_email", targets={"old_question": "first_name"})
    FormSubmission.objects.create(page=form, form_data={
        "work_email": "", "backup_email": "b@example.com", "given": "", "seats": "", "notes": "",
    })
    contact = Contact.objects.get()
    assert contact.email == "b@example.com" and contact.first_name == ""


def test_a_property_deleted_after_it_was_chosen_still_receives_the_answer_untyped():
    seats = PropertyDefinition.objects.create(key="seat_count", label="Seat count", type="number")
    form = mapped_form(targets={"seats": "properties.seat_count"})
    seats.delete()
    FormSubmission.objects.create(page=form, form_data={"backup_email": "b@example.com", "seats": "twelve"})
    assert Contact.objects.get().properties == {"seat_count": "twelve"}
    assert "errors" not in Event.objects.get(kind="form_submission").data


def test_the_saved_mapping_costs_a_submission_one_query(browser_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    form = mapped_form(email_field="work_email", targets={"given": "first_name"})
    with CaptureQueriesContext(connection) as queries:
        submit(browser_client, form, work_email="q@example.com", given="Q")
    table = '"wagtail_segments_formmapping"'
    assert sum(table in query["sql"] for query in queries.captured_queries) == 1
    assert Contact.objects.get().first_name == "Q"
