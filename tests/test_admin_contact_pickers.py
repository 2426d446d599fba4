"""What a marketer picks instead of typing on the contact screens: a country by name (stored
as its code), a company and a user account with Wagtail choosers, tags with Wagtail's tag
widget completing from contact tags; and the listing's country filter by name."""

import json

import pytest
from bs4 import BeautifulSoup
from django.utils import translation

from tests import factories
from tests.admin_helpers import editor
from tests.test_admin_contact_form import CREATE, edit_url, posted
from wagtail_segments.campaigns.models import Campaign
from wagtail_segments.contacts.models import Company, Contact, ContactTag

pytestmark = pytest.mark.django_db

LISTING = "/admin/wagtail_segments/contact/"
COMPANY_CHOOSER = "/admin/marketing/companies/chooser/"
USER_CHOOSER = "/admin/marketing/users/chooser/"


def options(html: str, name: str) -> list[tuple[str, str]]:
    select = BeautifulSoup(html, "html.parser").find("select", attrs={"name": name})
    return [(option["value"], option.get_text(strip=True)) for option in select.find_all("option")]


def selected(html: str, name: str) -> str:
    select = BeautifulSoup(html, "html.parser").find("select", attrs={"name": name})
    chosen = select.find("option", selected=True)
    return chosen["value"] if chosen else ""


def test_the_country_is_chosen_by_name_and_stored_as_its_code(admin_client):
    html = admin_client.get(CREATE).content.decode()
    countries = options(html, "country")
    assert countries[0] == ("", "No country")
    assert ("FR", "France") in countries and ("AQ", "Antarctica") in countries and ("XK", "Kosovo") in countries
    names = [name for _code, name in countries[1:]]
    assert names.index("Åland Islands") < names.index("Albania")  # by name, accents aside
    assert len(countries) == 251

    data = posted(html)
    data.update({"email": "bob@example.com", "country": "DE"})
    assert admin_client.post(CREATE, data).status_code == 302
    assert Contact.objects.get(email="bob@example.com").country == "DE"


def test_country_names_follow_the_editors_language(admin_client, admin_user):
    from wagtail.users.models import UserProfile

    profile = UserProfile.get_for_user(admin_user)
    profile.preferred_language = "fr"
    profile.save()

    countries = options(admin_client.get(CREATE).content.decode(), "country")

    assert ("DE", "Allemagne") in countries and ("ZA", "Afrique du Sud") in countries
    assert translation.get_language() != "fr"  # the editor's language, not the test's


def test_a_stored_code_that_is_no_country_is_shown_and_kept(admin_client):
    old = factories.contact(email="old@example.com", country="UK")
    html = admin_client.get(edit_url(old)).content.decode()

    assert ("UK", "UK (not a known country code)") in options(html, "country")
    assert selected(html, "country") == "UK"
    data = posted(html)
    data["first_name"] = "Olga"
    assert admin_client.post(edit_url(old), data).status_code == 302
    old.refresh_from_db()
    assert (old.first_name, old.country) == ("Olga", "UK")


def test_a_lowercase_code_shows_as_its_country(admin_client):
    lower = factories.contact(email="lower@example.com", country="fr")
    html = admin_client.get(edit_url(lower)).content.decode()
    assert selected(html, "country") == "FR"
    assert all(code != "fr" for code, _name in options(html, "country"))


def test_a_code_no_country_has_is_refused(admin_client):
    data = posted(admin_client.get(CREATE).content.decode())
    data.update({"email": "bob@example.com", "country": "ZZ"})
    assert admin_client.post(CREATE, data).status_code == 200
    assert not Contact.objects.filter(email="bob@example.com").exists()


def test_the_listing_filters_by_a_country_chosen_by_name(admin_client):
    factories.contact(email="ann@example.com", country="FR")
    factories.contact(email="bob@example.com", country="DE")

    response = admin_client.get(LISTING, {"country": "FR"})

    html = response.content.decode()
    assert ("FR", "France") in options(html, "country") and ("", "Any country") == options(html, "country")[0]
    assert selected(html, "country") == "FR"
    assert [c.email for c in response.context_data["object_list"]] == ["ann@example.com"]
    assert selected(admin_client.get(LISTING, {"country": "fr,de"}).content.decode(), "country") == "FR,DE"


def test_the_company_is_a_chooser_not_a_select_of_every_company(admin_client):
    acme = Company.objects.create(name="Acme", domain="acme.example")
    Company.objects.bulk_create(Company(name=f"Company {i}") for i in range(30))

    html = admin_client.get(CREATE).content.decode()

    page = BeautifulSoup(html, "html.parser")
    assert page.find("select", attrs={"name": "company"}) is None
    assert page.find("input", attrs={"name": "company", "type": "hidden"}) is not None
    assert "Company 29" not in html
    assert f'data-chooser-url="{COMPANY_CHOOSER}"' in html

    data = posted(html)
    data.update({"email": "bob@example.com", "company": str(acme.pk)})
    assert admin_client.post(CREATE, data).status_code == 302
    assert Contact.objects.get(email="bob@example.com").company == acme


def test_the_company_chooser_searches_by_name_and_domain_a_page_at_a_time(admin_client):
    acme = Company.objects.create(name="Acme Widgets", domain="acme.example")
    Company.objects.create(name="Globex", domain="globex.example")
    Company.objects.bulk_create(Company(name=f"Filler {i:02}") for i in range(25))

    opened = admin_client.get(COMPANY_CHOOSER)
    assert opened.status_code == 200
    assert "Choose a company" in json.loads(opened.content)["html"]

    found = admin_client.get(f"{COMPANY_CHOOSER}results/", {"q": "widg"}).content.decode()
    assert "Acme Widgets" in found and "Globex" not in found and "Filler" not in found
    assert admin_client.get(f"{COMPANY_CHOOSER}results/", {"q": "globex.ex"}).content.decode().count("Globex") >= 1

    first_page = admin_client.get(f"{COMPANY_CHOOSER}results/").content.decode()
    assert first_page.count("Filler") == 9 and "Globex" not in first_page  # ten to a page, by name

    chosen = json.loads(admin_client.get(f"{COMPANY_CHOOSER}chosen/{acme.pk}/").content)
    assert chosen["result"]["id"] == str(acme.pk) and chosen["result"]["title"] == "Acme Widgets"


def test_the_user_account_is_a_chooser_that_finds_by_name_or_email(admin_client):
    linda = factories.staff_user("linda", first_name="Linda", last_name="Lovelace", email="ll@corp.example")
    factories.staff_user("max")

    html = admin_client.get(CREATE).content.decode()
    assert BeautifulSoup(html, "html.parser").find("select", attrs={"name": "user"}) is None
    assert f'data-chooser-url="{USER_CHOOSER}"' in html

    found = admin_client.get(f"{USER_CHOOSER}results/", {"q": "lovel"}).content.decode()
    assert "linda" in found and "max" not in found
    assert "linda" in admin_client.get(f"{USER_CHOOSER}results/", {"q": "corp.example"}).content.decode()

    data = posted(html)
    data.update({"email": "bob@example.com", "user": str(linda.pk)})
    assert admin_client.post(CREATE, data).status_code == 302
    assert Contact.objects.get(email="bob@example.com").user == linda


def test_the_choosers_need_a_contact_permission(client):
    Company.objects.create(name="Acme")
    client.force_login(editor("reader", "view_contact"))
    for url in (COMPANY_CHOOSER, f"{COMPANY_CHOOSER}results/", USER_CHOOSER, f"{USER_CHOOSER}results/"):
        response = client.get(url)
        # Wagtail's admin answers a denied view with its "no permission" redirect to the dashboard.
        assert (response.status_code, response.url) == (302, "/admin/"), url
    client.force_login(editor("changer", "change_contact"))
    assert client.get(f"{COMPANY_CHOOSER}results/", {"q": "acme"}).status_code == 200


def test_tags_are_edited_with_wagtails_tag_widget_completing_from_contact_tags(admin_client):
    ContactTag.objects.create(name="Trade fair")
    ContactTag.objects.create(name="Trial")
    ann = factories.contact(email="ann@example.com")

    html = admin_client.get(edit_url(ann)).content.decode()

    tags = BeautifulSoup(html, "html.parser").find("input", attrs={"name": "tags"})
    assert tags["data-controller"] == "w-tag"
    url = tags["data-w-tag-url-value"]
    assert url == "/admin/tag-autocomplete/wagtail_segments/contacttag/"
    assert "wagtail_segments/admin/tag_widget.js" in html
    assert admin_client.get(url, {"term": "tr"}).json() == ["Trade fair", "Trial"]
    assert admin_client.get("/admin/tag-autocomplete/", {"term": "tr"}).json() == []  # Wagtail's own tags

    data = posted(html)
    data["tags"] = '"Trade fair", vip'  # as the widget posts them
    assert admin_client.post(edit_url(ann), data).status_code == 302
    assert sorted(ann.tags.names()) == ["Trade fair", "vip"]


def test_tags_edited_in_place_on_the_detail_use_the_tag_widget(admin_client):
    ann = factories.contact(email="ann@example.com")
    ann.tags.add("big customer")
    detail = f"/admin/wagtail_segments/contact/inspect/{ann.pk}/"

    html = admin_client.get(detail).content.decode()

    tags = BeautifulSoup(html, "html.parser").find("input", attrs={"name": "tags"})
    assert tags["value"] == '"big customer"'
    assert tags["data-w-tag-url-value"] == "/admin/tag-autocomplete/wagtail_segments/contacttag/"
    assert "wagtail_segments/admin/tag_widget.js" in html
    admin_client.post(f"/admin/marketing/contacts/{ann.pk}/tags/", {"tags": '"big customer", "trade fair"'})
    assert sorted(ann.tags.names()) == ["big customer", "trade fair"]


def test_the_bulk_tag_is_one_tag_picked_with_the_widget(admin_client):
    ann = factories.contact(email="ann@example.com")
    bulk = "/admin/marketing/contacts/bulk/"

    html = admin_client.get(bulk, {"action": "add_tag", "scope": "selected", "id": ann.pk}).content.decode()
    tag = BeautifulSoup(html, "html.parser").find("input", attrs={"name": "tag"})
    assert tag["data-controller"] == "w-tag" and '"tagLimit": 1' in tag["data-w-tag-options-value"]
    assert "wagtail_segments/admin/tag_widget.js" in html

    admin_client.post(bulk, {"action": "add_tag", "scope": "selected", "id": ann.pk, "tag": '"Trade fair"'})
    assert list(ann.tags.names()) == ["Trade fair"]


def test_campaign_tag_steps_and_the_tag_entry_use_the_tag_widget(admin_client):
    campaign = factories.campaign(status="draft", name="Fair")
    add_step = f"/admin/marketing/campaigns/{campaign.pk}/steps/add/"
    form = {"kind": "action", "action": "add_tags", "parent": "", "branch": "next"}

    html = admin_client.get(add_step, form).content.decode()
    tags = BeautifulSoup(html, "html.parser").find("input", attrs={"name": "tags"})
    assert tags["data-w-tag-url-value"] == "/admin/tag-autocomplete/wagtail_segments/contacttag/"

    admin_client.post(add_step, {**form, "save": "1", "tags": '"Trade fair", vip'})
    step = campaign.steps.get()
    assert step.config["tags"] == ["Trade fair", "vip"]
    html = admin_client.get(f"/admin/marketing/campaigns/steps/{step.pk}/edit/").content.decode()
    assert BeautifulSoup(html, "html.parser").find("input", attrs={"name": "tags"})["value"] == '"Trade fair", vip'

    edit = f"/admin/wagtail_segments/campaign/edit/{campaign.pk}/"
    html = admin_client.get(edit).content.decode()
    entry = BeautifulSoup(html, "html.parser").find("input", attrs={"name": "entry_tag"})
    assert entry["data-controller"] == "w-tag" and '"tagLimit": 1' in entry["data-w-tag-options-value"]
    data = posted(html)
    data["entry_tag"] = '"Trade fair"'
    assert admin_client.post(edit, data).status_code == 302
    assert Campaign.objects.get(pk=campaign.pk).entry_tag == "Trade fair"


def test_a_got_a_tag_decision_picks_one_tag_with_the_widget(admin_client):
    campaign = factories.campaign(status="draft", name="Fair")
    add_step = f"/admin/marketing/campaigns/{campaign.pk}/steps/add/"
    form = {"kind": "decision", "action": "", "parent": "", "branch": "next"}

    html = admin_client.get(add_step, form).content.decode()
    tag = BeautifulSoup(html, "html.parser").find("input", attrs={"name": "tag"})
    assert tag["data-w-tag-url-value"] == "/admin/tag-autocomplete/wagtail_segments/contacttag/"
    assert '"tagLimit": 1' in tag["data-w-tag-options-value"]

    admin_client.post(add_step, {**form, "save": "1", "did": "tagged", "tag": '"big customer"', "amount": "3",
                                 "unit": "days"})
    assert campaign.steps.get().config == {"did": "tagged", "tag": "big customer", "days": 3}
