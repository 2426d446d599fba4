"""The contact create/edit form: declared properties as typed fields checked by the code that
types form answers and imports, undeclared ones shown read-only and kept, and a save that
writes only what the editor changed."""

import pytest
from bs4 import BeautifulSoup

from tests import factories
from wagtail_segments.contacts.models import Company, Contact, PropertyDefinition

pytestmark = pytest.mark.django_db

CREATE = "/admin/wagtail_segments/contact/create/"


def edit_url(contact) -> str:
    return f"/admin/wagtail_segments/contact/edit/{contact.pk}/"


def posted(html: str) -> dict:
    """What a browser posts from the page's form as it is shown (hidden inputs included)."""
    form = BeautifulSoup(html, "html.parser").find("form", method="POST")
    data = {}
    for element in form.find_all(["input", "textarea", "select"]):
        name = element.get("name")
        if not name or name == "csrfmiddlewaretoken":
            continue
        if element.name == "textarea":
            data[name] = element.text.removeprefix("\n")
        elif element.name == "select":
            chosen = element.find("option", selected=True) or element.find("option")
            data[name] = chosen.get("value", "") if chosen else ""
        elif element.get("type") == "checkbox":
            if element.has_attr("checked"):
                data[name] = element.get("value", "on")
        else:
            data[name] = element.get("value", "")
    return data


def field_errors(html: str, name: str) -> str:
    """The error text Wagtail shows in the field named ``name``."""
    page = BeautifulSoup(html, "html.parser")
    wrapper = page.find(attrs={"name": name}).find_parent(attrs={"data-field": True})
    return wrapper.find(attrs={"data-field-errors": True}).get_text(" ", strip=True)


@pytest.fixture
def declared():
    for key, label, kind in [("seats", "Seats", "number"), ("renewal", "Renewal date", "date"),
                             ("vip", "VIP", "boolean"), ("plan", "Plan", "text")]:
        PropertyDefinition.objects.create(key=key, label=label, type=kind, description=f"About {label.lower()}")


@pytest.fixture
def ann(declared):
    return factories.contact(email="ann@example.com", first_name="Ann", properties={
        "seats": 4, "renewal": "2025-03-01", "vip": True, "plan": "Gold", "your_interest": "Demo",
    })


def test_each_declared_property_is_a_typed_field_with_its_label_and_help_and_no_json_box(admin_client, ann):
    html = admin_client.get(edit_url(ann)).content.decode()
    page = BeautifulSoup(html, "html.parser")

    assert page.find(attrs={"name": "properties"}) is None
    assert len(page.find_all(attrs={"name": "property__seats"})) == 1  # drawn once, by the panel
    assert page.find("label", attrs={"for": "id_property__seats"}).get_text(strip=True) == "Seats"
    assert page.find("input", attrs={"name": "property__seats"})["value"] == "4"
    renewal = page.find("input", attrs={"name": "property__renewal"})
    assert renewal["value"] == "2025-03-01" and "initDateChooser(\"id_property__renewal\"" in html
    vip = page.find("select", attrs={"name": "property__vip"})
    assert [o.get_text() for o in vip.find_all("option")] == ["Not set", "Yes", "No"]
    assert vip.find("option", selected=True)["value"] == "true"
    assert page.find("textarea", attrs={"name": "property__plan"}).text.strip() == "Gold"
    assert "About renewal date" in html


def test_an_editor_creates_a_contact_with_typed_properties(admin_client, declared):
    data = posted(admin_client.get(CREATE).content.decode())
    data.update({"email": "bob@example.com", "property__seats": "1,200", "property__renewal": "31/12/2025",
                 "property__vip": "false"})

    response = admin_client.post(CREATE, data)

    assert response.status_code == 302
    bob = Contact.objects.get(email="bob@example.com")
    assert bob.properties == {"seats": 1200, "renewal": "2025-12-31", "vip": False}  # the plan left empty: not written


def test_an_editor_changes_a_date_and_a_number_and_the_undeclared_answer_is_kept(admin_client, ann):
    data = posted(admin_client.get(edit_url(ann)).content.decode())
    data.update({"property__seats": "12", "property__renewal": "2026-04-30", "property__plan": ""})

    assert admin_client.post(edit_url(ann), data).status_code == 302

    ann.refresh_from_db()
    assert ann.properties == {"seats": 12, "renewal": "2026-04-30", "vip": True, "plan": "", "your_interest": "Demo"}


def test_a_bad_number_is_shown_on_its_field_and_nothing_is_saved(admin_client, ann):
    data = posted(admin_client.get(edit_url(ann)).content.decode())
    data.update({"first_name": "Annie", "property__seats": "a dozen", "property__renewal": "2026-04-30"})

    response = admin_client.post(edit_url(ann), data)

    html = response.content.decode()
    assert response.status_code == 200
    assert field_errors(html, "property__seats") == "“a dozen” is not a number."
    assert field_errors(html, "property__renewal") == ""
    ann.refresh_from_db()
    assert ann.first_name == "Ann" and ann.properties["seats"] == 4 and ann.properties["renewal"] == "2025-03-01"


def test_a_bad_date_is_shown_on_its_field(admin_client, ann):
    data = posted(admin_client.get(edit_url(ann)).content.decode())
    data["property__renewal"] = "next spring"

    html = admin_client.post(edit_url(ann), data).content.decode()

    assert field_errors(html, "property__renewal") == "“next spring” is not a date."
    assert Contact.objects.get(pk=ann.pk).properties["renewal"] == "2025-03-01"


def test_emptying_a_typed_property_stores_none_so_is_empty_rules_see_it(admin_client, ann):
    data = posted(admin_client.get(edit_url(ann)).content.decode())
    data.update({"property__seats": "", "property__vip": ""})

    admin_client.post(edit_url(ann), data)

    ann.refresh_from_db()
    assert ann.properties["seats"] is None and ann.properties["vip"] is None


def test_undeclared_values_are_shown_read_only_and_escaped(admin_client, declared):
    eve = factories.contact(email="eve@example.com", properties={
        "<b>key</b>": "x", "comment": "<script>alert('hi')</script>", "answers": ["a", "b"],
    })

    html = admin_client.get(edit_url(eve)).content.decode()

    table = BeautifulSoup(html, "html.parser").find("table", class_="wsg-other-properties")
    assert table.caption.get_text(strip=True) == "Other properties"
    rows = [[cell.get_text() for cell in row.find_all(["th", "td"])] for row in table.tbody.find_all("tr")]
    assert rows == [["<b>key</b>", "x"], ["answers", "a, b"], ["comment", "<script>alert('hi')</script>"]]  # by key
    assert "<script>alert('hi')</script>" not in html and "&lt;script&gt;alert(&#x27;hi&#x27;)&lt;/script&gt;" in html
    assert "<b>key</b>" not in html
    assert table.find("input") is None and table.find("textarea") is None


def test_saving_writes_only_what_the_editor_changed_onto_the_properties_as_they_are_now(admin_client, ann):
    data = posted(admin_client.get(edit_url(ann)).content.decode())
    # While the form is open, a form submission and a campaign write to the same contact.
    Contact.objects.filter(pk=ann.pk).update(properties={
        "seats": 5, "renewal": "2025-03-01", "vip": True, "plan": "Platinum", "your_interest": "Pricing",
        "source": "fair",
    })
    data["property__renewal"] = "2026-01-15"

    assert admin_client.post(edit_url(ann), data).status_code == 302

    ann.refresh_from_db()
    assert ann.properties == {
        "seats": 5, "renewal": "2026-01-15", "vip": True, "plan": "Platinum", "your_interest": "Pricing",
        "source": "fair",
    }


def test_a_stored_value_that_does_not_fit_its_type_is_kept_until_changed(admin_client, declared):
    old = factories.contact(email="old@example.com", properties={"seats": "several", "vip": "maybe"})

    html = admin_client.get(edit_url(old)).content.decode()
    assert "“several” is not a number. It is kept until you change it." in html
    data = posted(html)
    data["first_name"] = "Olga"
    assert admin_client.post(edit_url(old), data).status_code == 302

    old.refresh_from_db()
    assert old.first_name == "Olga" and old.properties == {"seats": "several", "vip": "maybe"}


def test_a_company_shows_its_properties_read_only_instead_of_a_json_box(admin_client):
    company = Company.objects.create(name="Acme", properties={"industry": "<Rockets>"})

    html = admin_client.get(f"/admin/wagtail_segments/company/edit/{company.pk}/").content.decode()
    data = posted(html)
    data["name"] = "Acme Ltd"
    admin_client.post(f"/admin/wagtail_segments/company/edit/{company.pk}/", data)

    assert 'name="properties"' not in html and "&lt;Rockets&gt;" in html
    company.refresh_from_db()
    assert company.name == "Acme Ltd" and company.properties == {"industry": "<Rockets>"}


def test_a_property_stored_while_the_form_is_being_saved_is_kept(admin_client, ann, monkeypatch):
    from wagtail_segments.admin.contact_form import ContactForm

    data = posted(admin_client.get(edit_url(ann)).content.decode())
    data["property__seats"] = "6"
    checked = ContactForm.clean

    def another_writer_commits_meanwhile(form):
        # The edit view read the contact before this; a form submission stores an answer now.
        Contact.objects.filter(pk=ann.pk).update(properties={**ann.properties, "newsletter": "yes"})
        return checked(form)

    monkeypatch.setattr(ContactForm, "clean", another_writer_commits_meanwhile)
    assert admin_client.post(edit_url(ann), data).status_code == 302

    ann.refresh_from_db()
    assert ann.properties["newsletter"] == "yes" and ann.properties["seats"] == 6


def test_the_time_zone_is_chosen_from_a_list_and_an_unknown_stored_one_is_kept(admin_client, declared):
    html = admin_client.get(CREATE).content.decode()
    zone = BeautifulSoup(html, "html.parser").find("select", attrs={"name": "time_zone"})
    assert zone.find("option")["value"] == "" and zone.find("option", value="Europe/Paris")

    odd = factories.contact(email="odd@example.com", time_zone="Mars/Olympus")
    data = posted(admin_client.get(edit_url(odd)).content.decode())
    assert data["time_zone"] == "Mars/Olympus"
    data["first_name"] = "Odd"
    admin_client.post(edit_url(odd), data)
    odd.refresh_from_db()
    assert (odd.first_name, odd.time_zone) == ("Odd", "Mars/Olympus")
