"""The preference page: reached by the signed link in every email, no login; join or leave
the public static segments, unsubscribe from everything, or ask to subscribe again."""

import pytest
from django.core import mail
from django.test import Client

from tests import factories
from tests.segment_helpers import segment
from wagtail_segments.contacts.identity import merge_contacts
from wagtail_segments.messaging import consent
from wagtail_segments.messaging.links import preference_url, sign
from wagtail_segments.messaging.models import Consent
from wagtail_segments.models import Contact, Event
from wagtail_segments.segments.manual import add_contacts

pytestmark = pytest.mark.django_db


@pytest.fixture
def lists():
    return {
        "news": segment(name="Newsletter", kind="static", public=True, description="Monthly <b>news</b>"),
        "events": segment(name="Events", kind="static", public=True),
        "hidden": segment(name="Internal list", kind="static", public=False),
        "dynamic": segment(name="Dynamic public", kind="dynamic", public=True),
    }


def members(seg):
    return set(seg.members().values_list("pk", flat=True))


def path(url):
    return url.split("localhost", 1)[-1] if "localhost" in url else url[url.index("/_segments/"):]


def test_the_page_offers_the_public_static_segments_with_the_contacts_choices(client, lists):
    ann = factories.contact(email="ann@example.com")
    add_contacts(lists["news"], [ann])
    page = client.get(path(preference_url(ann)))
    assert page.status_code == 200
    html = page.content.decode()
    assert "ann@example.com" in html
    assert "Newsletter" in html and "Events" in html
    assert "Internal list" not in html and "Dynamic public" not in html
    assert f'value="{lists["news"].pk}" checked' in html
    assert f'value="{lists["events"].pk}"' in html and f'value="{lists["events"].pk}" checked' not in html
    assert page["Referrer-Policy"] == "no-referrer"


def test_names_and_descriptions_are_shown_escaped(client):
    segment(name="<script>alert(1)</script>", kind="static", public=True, description="<img src=x onerror=1>")
    ann = factories.contact(email="ann@example.com", first_name="<b>Ann</b>")
    html = client.get(path(preference_url(ann))).content.decode()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html


def test_joining_and_leaving_lists_is_saved(client, lists):
    ann = factories.contact(email="ann@example.com")
    add_contacts(lists["news"], [ann])
    url = path(preference_url(ann))
    response = client.post(url, {"action": "save", "segments": [str(lists["events"].pk)]})
    assert response.status_code == 302 and response["Location"].endswith("?done=saved")
    assert members(lists["news"]) == set() and members(lists["events"]) == {ann.pk}
    assert b"Your choices are saved." in client.get(response["Location"]).content


def test_a_posted_id_of_a_segment_not_offered_is_ignored(client, lists):
    ann = factories.contact(email="ann@example.com")
    other = factories.contact(email="bob@example.com")
    add_contacts(lists["hidden"], [other])
    client.post(path(preference_url(ann)), {"action": "save", "segments": [str(lists["hidden"].pk), "x"]})
    assert members(lists["hidden"]) == {other.pk}


def test_unsubscribing_from_everything(client, lists):
    ann = factories.contact(email="ann@example.com")
    response = client.post(path(preference_url(ann)), {"action": "unsubscribe"})
    assert response["Location"].endswith("?done=unsubscribed")
    ann.refresh_from_db()
    assert ann.do_not_email and ann.do_not_email_reason == "unsubscribed (preference page)"
    assert consent.is_suppressed("ann@example.com")
    assert Event.objects.filter(contact=ann, kind="email_unsubscribed").count() == 1
    again = client.get(response["Location"]).content.decode()
    assert "You are unsubscribed" in again and "Send me an email to subscribe again" in again


def test_an_unsubscribed_contact_can_ask_to_subscribe_again_by_email(client):
    ann = factories.contact(email="ann@example.com")
    consent.unsubscribe(ann, source="link")
    response = client.post(path(preference_url(ann)), {"action": "subscribe_again"})
    assert response["Location"].endswith("?done=confirmation_sent")
    assert [m.to for m in mail.outbox] == [["ann@example.com"]]
    assert Consent.objects.get(contact=ann).status == Consent.Status.PENDING
    ann.refresh_from_db()
    assert ann.do_not_email  # until the link is confirmed


@pytest.mark.parametrize("damage", ["edit", "cut", "other purpose", "garbage"])
def test_a_forged_or_tampered_link_gets_400_and_changes_nothing(client, lists, damage):
    ann = factories.contact(email="ann@example.com")
    token = path(preference_url(ann)).rstrip("/").rsplit("/", 1)[1]
    bad = {
        "edit": token[:-3] + ("abc" if not token.endswith("abc") else "xyz"),
        "cut": token[: len(token) // 2],
        "other purpose": sign("confirm", str(ann.uuid)),
        "garbage": "not-a-token",
    }[damage]
    for method in (client.get, lambda url: client.post(url, {"action": "unsubscribe"})):
        response = method(f"/_segments/p/{bad}/")
        assert response.status_code == 400
        assert b"This link is not valid" in response.content
    ann.refresh_from_db()
    assert not ann.do_not_email and not consent.is_suppressed("ann@example.com")


def test_changes_need_the_csrf_token():
    ann = factories.contact(email="ann@example.com")
    strict = Client(enforce_csrf_checks=True)
    url = path(preference_url(ann))
    assert strict.post(url, {"action": "unsubscribe"}).status_code == 403
    assert not Contact.objects.get(pk=ann.pk).do_not_email
    form = strict.get(url)
    token = form.cookies["csrftoken"].value
    assert strict.post(url, {"action": "unsubscribe", "csrfmiddlewaretoken": token}).status_code == 302
    assert Contact.objects.get(pk=ann.pk).do_not_email


def test_a_link_to_a_merged_away_contact_opens_the_survivors_page(client, lists):
    old = factories.contact()
    ann = factories.contact(email="ann@example.com")
    merge_contacts(old, ann)
    client.post(path(preference_url(old)), {"action": "save", "segments": [str(lists["news"].pk)]})
    assert members(lists["news"]) == {ann.pk}


def test_a_link_of_an_erased_contact_says_so(client):
    ann = factories.contact(email="ann@example.com")
    url = path(preference_url(ann))
    ann.delete()
    response = client.get(url)
    assert response.status_code == 404 and b"We no longer hold your details" in response.content


def test_a_site_may_override_the_template(client, settings, tmp_path):
    folder = tmp_path / "wagtail_segments" / "messaging" / "preferences"
    folder.mkdir(parents=True)
    (folder / "page.html").write_text("Our own page for {{ contact.email }}")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [str(tmp_path)]}]
    ann = factories.contact(email="ann@example.com")
    assert client.get(path(preference_url(ann))).content == b"Our own page for ann@example.com"
