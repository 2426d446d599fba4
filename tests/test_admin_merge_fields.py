"""The email and SMS forms list the merge fields a message can use: the contact's own and
every declared property by key, so an editor copies a name rather than guessing one."""

import pytest
from bs4 import BeautifulSoup

from tests import factories
from tests.test_admin_messages import email, writer  # noqa: F401 - a fixture
from wagtail_segments.admin.merge_fields import merge_fields
from wagtail_segments.contacts.models import Company, PropertyDefinition
from wagtail_segments.messaging.merge import render_text

pytestmark = pytest.mark.django_db


def listed(html: str) -> dict[str, str]:
    table = BeautifulSoup(html, "html.parser").find("table", class_="wsg-merge-fields")
    return {row.code.get_text(): row.find_all("td")[1].get_text() for row in table.tbody.find_all("tr")}


@pytest.mark.parametrize("screen", ["emailmessage/create/", "smsmessage/create/", "emailmessage/edit/{pk}/"])
def test_the_message_forms_list_the_merge_fields(writer, screen):  # noqa: F811
    PropertyDefinition.objects.create(key="renewal_date", label="Renewal <date>", type="date")
    url = "/admin/wagtail_segments/" + screen.format(pk=email().pk)

    html = writer.get(url).content.decode()

    fields = listed(html)
    assert fields["{{ first_name }}"] == "First name" and fields["{{ company }}"] == "Company name"
    assert fields["{{ properties.renewal_date }}"] == "Renewal <date> (Date)"
    assert "Renewal &lt;date&gt;" in html
    assert 'give a fallback, e.g. {{ first_name|default:"there" }}.' in BeautifulSoup(html, "html.parser").get_text()


def test_every_listed_merge_field_is_one_a_message_can_read():

    PropertyDefinition.objects.create(key="plan", label="Plan", type="text")
    ann = factories.contact(first_name="Ann", last_name="Lee", email="ann@example.com", phone="+44 7911 123456",
                            country="GB", points=7, properties={"plan": "Gold"},
                            company=Company.objects.create(name="Acme"))

    for code, _label in merge_fields():
        assert render_text(code, ann) not in ("", None), code
