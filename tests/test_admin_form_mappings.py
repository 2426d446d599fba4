"""Marketing → Form mappings: the listing of form pages, a page's fields each with where its
answer goes, saving (stored, audited with the user), fields and properties that are gone,
and the permissions (403 and no menu item without them; a viewer cannot save)."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from wagtail.models import PageLogEntry

from tests import factories
from tests.admin_helpers import editor
from wagtail_segments.admin.audit import FORM_MAPPING_CHANGED
from wagtail_segments.models import FormMapping, PropertyDefinition

pytestmark = pytest.mark.django_db

LISTING = "/admin/marketing/forms/"


def edit_url(page) -> str:
    return f"{LISTING}{page.pk}/"


def options(html: str, name: str) -> dict[str, str]:
    """The options of the select ``name``: value -> text; the selected one under key "*"."""
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert select, f"no select {name}"
    found = {}
    for attrs, text in re.findall(r"<option([^>]*)>(.*?)</option>", select.group(1), re.S):
        value = re.search(r'value="([^"]*)"', attrs).group(1)
        found[value] = text.strip()
        if "selected" in attrs:
            found["*"] = value
    return found


def demo_form(title="Book a demo"):
    return factories.form_page(title, fields=[
        ("Work email", "singleline"), ("Backup email", "email"), ("Given name", "singleline"),
        ("Seats", "number"), ("Notes", "multiline"),
    ])


@pytest.fixture
def marketer(client):
    user = editor("marketer", "view_formmapping", "change_formmapping")
    client.force_login(user)
    client.user = user
    return client


def test_listing_shows_every_form_page_with_its_fields_and_choices(marketer):
    demo = demo_form()
    contact = factories.form_page("Contact us")
    factories.content_page("Pricing")
    FormMapping.objects.create(page=demo, email_field="work_email",
                               targets={"given_name": "first_name", "notes": None, "gone": "last_name"})

    html = marketer.get(LISTING).content.decode()

    rows = re.findall(r"<tr>(.*?)</tr>", html.split("<tbody>")[1], re.S)
    cells = [[re.sub(r"<[^>]+>|\s+", " ", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
             for row in rows]
    assert [c[:4] for c in cells] == [
        ["Book a demo", "5", "2", "Work email"],  # the removed field "gone" is not counted
        ["Contact us", "5", "0", "Email"],
    ]
    assert f'href="{edit_url(demo)}"' in html and f'href="{edit_url(contact)}"' in html
    assert "Pricing" not in html.split("<tbody>")[1]


def test_listing_costs_the_same_queries_for_two_forms_as_for_six(marketer):
    for n in range(2):
        FormMapping.objects.create(page=demo_form(f"Form {n}"), targets={"notes": None})
    with CaptureQueriesContext(connection) as two:
        assert marketer.get(LISTING).status_code == 200
    for n in range(2, 6):
        FormMapping.objects.create(page=demo_form(f"Form {n}"), targets={"notes": None})
    with CaptureQueriesContext(connection) as six:
        assert marketer.get(LISTING).status_code == 200
    assert len(six) == len(two)


def test_listing_searches_titles(marketer):
    demo_form("Book a demo")
    factories.form_page("Newsletter")
    html = marketer.get(LISTING, {"q": "news"}).content.decode()
    body = html.split("<tbody>")[1]
    assert "Newsletter" in body and "Book a demo" not in body


def test_edit_screen_offers_contact_fields_declared_properties_default_and_ignore(marketer):
    PropertyDefinition.objects.create(key="team_size", label="Team size", type="number")
    page = demo_form()

    html = marketer.get(edit_url(page)).content.decode()

    for label, kind in (("Work email", "Single line text"), ("Seats", "Number"), ("Notes", "Multi-line text")):
        assert re.search(rf">{label}</label></th>\s*<td>{kind}</td>", html)
    seats = options(html, "target__seats")
    assert seats == {
        "": "Default: property “seats” (not declared)", "first_name": "First name", "last_name": "Last name",
        "phone": "Phone", "company": "Company", "properties.team_size": "Team size (Number)",
        "ignore": "Ignore: not copied to the contact", "*": "",
    }
    # The default site setting names "given_name"; its own property is offered beside it.
    given = options(html, "target__given_name")
    assert given[""] == "Default: First name"
    assert given["properties.given_name"] == "Its own property, “given_name” (not declared)"
    email = options(html, "email_field")
    assert email == {"": "Default: “Backup email”", "work_email": "Work email (Single line text)",
                     "backup_email": "Backup email (Email)", "given_name": "Given name (Single line text)", "*": ""}
    assert "Identifies the submitter" in html  # on the backup email's row, the default
    assert 'name="csrfmiddlewaretoken"' in html and ">Save<" in html


def cell(html: str, label: str) -> str:
    """The "where the answer goes" cell of the row of the field labelled ``label``."""
    return re.search(rf">{label}</label></th>\s*<td>[^<]*</td>\s*<td>(.*?)</td>", html, re.S).group(1)


def test_the_identifying_fields_row_says_so_instead_of_offering_a_select(marketer):
    page = demo_form()

    html = marketer.get(edit_url(page)).content.decode()

    backup = cell(html, "Backup email")  # the default identifying field
    says = re.search(r"<p data-wsg-shown-when=\"email_field:backup_email \">(.*?)</p>", backup, re.S)
    assert says and "Identifies the submitter" in says.group(1)
    # its select is hidden, and shown by the script only when another field identifies
    assert re.search(r'<div data-wsg-shown-when="email_field:work_email given_name" hidden>', backup)
    work = cell(html, "Work email")
    assert re.search(r'<p data-wsg-shown-when="email_field:work_email" hidden>', work)
    assert re.search(r'<div data-wsg-shown-when="email_field: backup_email given_name">', work)
    assert "wagtail_segments/admin/shown_when.js" in html

    FormMapping.objects.create(page=page, email_field="work_email")
    html = marketer.get(edit_url(page)).content.decode()
    assert re.search(r'<p data-wsg-shown-when="email_field:work_email">', cell(html, "Work email"))
    assert re.search(r'<p data-wsg-shown-when="email_field:backup_email " hidden>', cell(html, "Backup email"))


def test_no_target_is_saved_for_the_field_that_identifies_the_submitter(marketer):
    page = demo_form()
    # the hidden select of the identifying field still posts its value: it is not kept
    marketer.post(edit_url(page), {"email_field": "", "target__backup_email": "first_name",
                                   "target__work_email": "last_name"})
    assert FormMapping.objects.get(page=page).targets == {"work_email": "last_name"}
    marketer.post(edit_url(page), {"email_field": "work_email", "target__backup_email": "first_name",
                                   "target__work_email": "last_name"})
    mapping = FormMapping.objects.get(page=page)
    assert (mapping.email_field, mapping.targets) == ("work_email", {"backup_email": "first_name"})


def test_edit_screen_shows_the_defaults_of_the_site_setting_and_the_pages_code(marketer, settings, monkeypatch):
    from example_site.pages.models import FormPage

    settings.WAGTAIL_SEGMENTS = {"FORM_FIELD_MAPPING": {"given_name": "phone", "notes": "last_name"}}
    monkeypatch.setattr(FormPage, "segments_field_mapping", {"notes": None}, raising=False)
    monkeypatch.setattr(FormPage, "segments_email_field", "work_email", raising=False)
    page = demo_form()

    html = marketer.get(edit_url(page)).content.decode()

    assert options(html, "target__given_name")[""] == "Default: Phone"
    assert options(html, "target__notes")[""] == "Default: not copied"
    assert options(html, "email_field")[""] == "Default: “Work email”"


def test_saving_stores_the_choices_and_records_who_changed_them(marketer):
    PropertyDefinition.objects.create(key="team_size", label="Team size", type="number")
    page = demo_form()

    response = marketer.post(edit_url(page), {
        "email_field": "work_email", "target__given_name": "first_name", "target__seats": "properties.team_size",
        "target__notes": "ignore", "target__work_email": "", "target__backup_email": "",
    })

    assert response.status_code == 302 and response["Location"] == LISTING
    assert "Form mapping of “Book a demo” saved." in marketer.get(LISTING).content.decode()
    mapping = FormMapping.objects.get(page=page)
    assert mapping.email_field == "work_email"
    assert mapping.targets == {"given_name": "first_name", "seats": "properties.team_size", "notes": None}
    entry = PageLogEntry.objects.get(action=FORM_MAPPING_CHANGED)
    assert entry.page_id == page.pk and entry.user == marketer.user
    assert entry.data["before"] is None and entry.data["after"]["targets"]["notes"] is None
    # The screen shows what was saved.
    html = marketer.get(edit_url(page)).content.decode()
    assert options(html, "target__seats")["*"] == "properties.team_size"
    assert options(html, "target__notes")["*"] == "ignore"
    assert options(html, "email_field")["*"] == "work_email"


def test_saving_back_to_the_defaults_keeps_nothing_chosen_and_logs_the_change(marketer):
    page = demo_form()
    FormMapping.objects.create(page=page, email_field="work_email", targets={"notes": None})
    marketer.post(edit_url(page), {"email_field": ""})
    mapping = FormMapping.objects.get(page=page)
    assert (mapping.email_field, mapping.targets) == ("", {})
    assert PageLogEntry.objects.filter(action=FORM_MAPPING_CHANGED).count() == 1
    # Saving the same choices again changes nothing and logs nothing.
    marketer.post(edit_url(page), {"email_field": ""})
    assert PageLogEntry.objects.filter(action=FORM_MAPPING_CHANGED).count() == 1


def test_a_target_not_offered_is_refused(marketer):
    page = demo_form()
    response = marketer.post(edit_url(page), {"target__notes": "emial", "email_field": "seats"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Select a valid choice" in html and "Some choices are not valid" in html
    assert not FormMapping.objects.exists()


def test_a_field_no_longer_on_the_form_is_shown_and_forgotten_on_save(marketer):
    page = demo_form()
    FormMapping.objects.create(page=page, email_field="old_email",
                               targets={"old_question": "last_name", "notes": None})

    html = marketer.get(edit_url(page)).content.decode()

    assert "No longer on the form" in html
    assert re.search(r"<td>old_question</td><td>Last name</td>", html)
    assert ("The field chosen to identify submitters, “old_email”, is no longer on the form: "
            "the default is used.") in html
    assert options(html, "email_field")["*"] == ""
    marketer.post(edit_url(page), {"target__notes": "ignore"})
    mapping = FormMapping.objects.get(page=page)
    assert (mapping.email_field, mapping.targets) == ("", {"notes": None})


def test_a_mapping_to_a_deleted_property_is_shown_as_saved(marketer):
    seats = PropertyDefinition.objects.create(key="seat_count", label="Seat count", type="number")
    page = demo_form()
    FormMapping.objects.create(page=page, targets={"seats": "properties.seat_count"})
    seats.delete()

    html = marketer.get(edit_url(page)).content.decode()

    choices = options(html, "target__seats")
    assert choices["*"] == "properties.seat_count"
    assert choices["properties.seat_count"] == "property “seat_count” (not declared)"
    assert "The property chosen is no longer declared" in html
    # Saving it as it stands keeps it.
    marketer.post(edit_url(page), {"target__seats": "properties.seat_count"})
    assert FormMapping.objects.get(page=page).targets == {"seats": "properties.seat_count"}


def test_deleting_the_page_deletes_its_mapping():
    page = demo_form()
    FormMapping.objects.create(page=page, targets={"notes": None})
    page.delete()
    assert not FormMapping.objects.exists()


def test_labels_are_shown_as_text(marketer):
    page = factories.form_page(fields=[("<b>Bold</b> & <script>x()</script>", "singleline")])
    html = marketer.get(edit_url(page)).content.decode()
    assert "<script>x()</script>" not in html
    assert "&lt;b&gt;Bold&lt;/b&gt; &amp; &lt;script&gt;x()&lt;/script&gt;" in html


def test_a_page_that_is_not_a_form_is_not_found(marketer):
    assert marketer.get(edit_url(factories.content_page())).status_code == 404


def test_without_a_permission_the_screens_answer_403_and_are_not_in_the_menu(client):
    page = demo_form()
    client.force_login(editor("writer", "view_contact", "change_contact"))
    for response in (client.get(LISTING), client.get(f"{LISTING}results/"), client.get(edit_url(page)),
                     client.post(edit_url(page), {"target__notes": "ignore"})):
        assert response.status_code == 403
        assert "Can change form mapping" in response.content.decode()
    assert not FormMapping.objects.exists()
    assert LISTING not in client.get("/admin/").content.decode()


def test_a_viewer_sees_the_choices_but_cannot_save(client):
    page = demo_form()
    FormMapping.objects.create(page=page, targets={"notes": None})
    client.force_login(editor("viewer", "view_formmapping"))
    assert LISTING in client.get("/admin/").content.decode()
    html = client.get(edit_url(page)).content.decode()
    assert re.search(r'<select name="target__notes"[^>]*disabled', html)
    assert ">Save<" not in html and "You can see these choices but not change them" in html
    assert client.post(edit_url(page), {"target__notes": ""}).status_code == 403
    assert FormMapping.objects.get(page=page).targets == {"notes": None}


def test_with_the_change_permission_the_menu_offers_the_screen(marketer):
    assert LISTING in marketer.get("/admin/").content.decode()


def test_the_field_that_asks_for_double_opt_in_is_pointed_out(marketer, settings, monkeypatch):
    from example_site.pages.models import FormPage

    settings.WAGTAIL_SEGMENTS = {"DOUBLE_OPT_IN_FIELD": "newsletter"}
    page = factories.form_page(fields=[("Email", "email"), ("Newsletter", "checkbox")])
    html = marketer.get(edit_url(page)).content.decode()
    row = re.search(r">Newsletter</label></th>(.*?)</tr>", html, re.S).group(1)
    assert "Ticked, it sends the submitter a confirmation email (double opt-in)." in row

    monkeypatch.setattr(FormPage, "segments_double_opt_in", True, raising=False)
    html = marketer.get(edit_url(page)).content.decode()
    assert "This form sends every submitter a confirmation email (double opt-in)" in html


def test_a_save_without_the_csrf_token_is_refused():
    from django.test import Client

    page = demo_form()
    client = Client(enforce_csrf_checks=True)
    client.force_login(editor("marketer", "change_formmapping"))
    assert client.post(edit_url(page), {"target__notes": "ignore"}).status_code == 403
    assert not FormMapping.objects.exists()


def test_the_permissions_can_be_given_to_a_group(admin_client):
    from django.contrib.auth.models import Permission

    html = admin_client.get("/admin/groups/new/").content.decode()
    for codename in ("view_formmapping", "change_formmapping"):
        permission = Permission.objects.get(codename=codename, content_type__app_label="wagtail_segments")
        assert f'value="{permission.pk}"' in html
