"""The public views behind email links: open pixel, click redirect, unsubscribe."""

import datetime
import time

import pytest
from django.core import signing
from django.test import Client
from django.utils import timezone

from tests import factories
from wagtail_segments.contacts.models import Event
from wagtail_segments.messaging import links
from wagtail_segments.messaging.models import Delivery, Suppression

pytestmark = pytest.mark.django_db

READER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Thunderbird/128.0"


def path(url: str) -> str:
    return url.split("localhost", 1)[1]


@pytest.fixture
def delivery():
    contact = factories.contact(first_name="Ann", email="ann@example.com")
    message = factories.email_message()
    return Delivery.objects.create(
        contact=contact, email_message=message, to_address=contact.email, status="sent",
        sent_at=timezone.now() - datetime.timedelta(minutes=5),
        links=["https://shop.example.com/a", "https://example.com/b?x=1"],
    )


def events(kind):
    return list(Event.objects.filter(kind=kind).values_list("data", flat=True))


def test_the_open_pixel_records_the_first_open_once(client, delivery):
    url = path(links.open_pixel_url(delivery))
    for _ in range(3):
        response = client.get(url, HTTP_USER_AGENT=READER)
        assert response.status_code == 200 and response["Content-Type"] == "image/gif"
    delivery.refresh_from_db()
    assert delivery.opened_at is not None
    [opened] = events("email_opened")
    assert opened["delivery"] == delivery.pk and opened["machine"] is False


def test_a_forged_pixel_still_answers_with_the_image_and_records_nothing(client, delivery):
    url = path(links.open_pixel_url(delivery))
    response = client.get(url[:-6] + "xxxxx/", HTTP_USER_AGENT=READER)
    assert response.status_code == 200 and response.content.startswith(b"GIF89a")
    assert events("email_opened") == []


@pytest.mark.parametrize("user_agent, seconds_after_send", [("Mozilla/5.0", 300), (READER, 1)])
def test_a_privacy_proxy_open_is_recorded_once_as_a_machine_open(client, delivery, user_agent, seconds_after_send):
    Delivery.objects.filter(pk=delivery.pk).update(
        sent_at=timezone.now() - datetime.timedelta(seconds=seconds_after_send))
    url = path(links.open_pixel_url(delivery))
    client.get(url, HTTP_USER_AGENT=user_agent)
    client.get(url, HTTP_USER_AGENT=user_agent)
    delivery.refresh_from_db()
    assert delivery.opened_at is None  # not a person reading
    assert [e["machine"] for e in events("email_opened")] == [True]


def test_a_click_redirects_to_the_link_and_records_it(client, delivery):
    response = client.get(path(links.click_url(delivery, 1)), HTTP_USER_AGENT=READER)
    assert response.status_code == 302 and response["Location"] == "https://example.com/b?x=1"
    [clicked] = events("email_clicked")
    assert clicked["url"] == "https://example.com/b?x=1" and clicked["delivery"] == delivery.pk
    delivery.refresh_from_db()
    assert delivery.clicked_at and delivery.opened_at  # a click means it was read
    assert len(events("email_opened")) == 1


def test_a_tampered_click_link_is_refused_and_never_redirects(client, delivery):
    good = path(links.click_url(delivery, 0))
    response = client.get(good.replace("/c/", "/c/x"))
    assert response.status_code == 400 and b"not valid" in response.content
    assert events("email_clicked") == []


def test_a_click_link_cannot_be_made_to_redirect_elsewhere(client, delivery):
    # A link signed for another purpose, or a validly signed index past the message's
    # links: neither leads anywhere but an error page.
    evil = links.absolute("email_click", links.sign("open", [str(delivery.token), 0]))
    assert client.get(path(evil)).status_code == 400
    past_the_end = client.get(path(links.click_url(delivery, 7)))
    assert past_the_end.status_code == 404 and "Location" not in past_the_end
    forged_url = links.absolute("email_click", links.sign("click", ["https://evil.example", 0]))
    response = client.get(path(forged_url))
    assert response.status_code == 400 and "Location" not in response



def test_links_are_signed_as_django_signs_and_with_the_secret_key_of_the_moment(settings, monkeypatch):
    monkeypatch.setattr(time, "time", lambda: 1_800_000_000.5)  # both sign in the same second
    value = ["0d6a5f0e-8f1c-4f5e-9a51-3c1f0f6b2a10", 1]
    signed = links.sign("click", value)
    assert signed == signing.dumps(value, salt=f"{links.SALT}.click")
    assert links.sign("open", value) != signed
    settings.SECRET_KEY = "a rotated secret key, long enough to be one"
    assert links.sign("click", value) == signing.dumps(value, salt=f"{links.SALT}.click") != signed
    assert links.unsign("click", links.sign("click", value)) == value

def test_unsubscribe_page_asks_first_and_its_form_is_csrf_protected(delivery):
    client = Client(enforce_csrf_checks=True)
    url = path(links.unsubscribe_url(delivery))

    page = client.get(url)
    assert page.status_code == 200 and b'<form method="post">' in page.content
    assert b"csrfmiddlewaretoken" in page.content
    delivery.contact.refresh_from_db()
    assert not delivery.contact.do_not_email  # a GET (a link scanner) changes nothing

    assert client.post(url, {}).status_code == 403  # no CSRF token
    token = page.content.split(b'name="csrfmiddlewaretoken" value="')[1].split(b'"')[0].decode()
    done = client.post(url, {"csrfmiddlewaretoken": token})
    assert done.status_code == 200 and b"You are unsubscribed" in done.content
    delivery.contact.refresh_from_db()
    assert delivery.contact.do_not_email
    assert Suppression.objects.count() == 1


def test_one_click_unsubscribe_needs_no_csrf_token(delivery):
    client = Client(enforce_csrf_checks=True)
    response = client.post(path(links.unsubscribe_url(delivery)), "List-Unsubscribe=One-Click",
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    delivery.contact.refresh_from_db()
    assert delivery.contact.do_not_email
    [event] = events("email_unsubscribed")
    assert event["source"] == "one-click" and event["delivery"] == delivery.pk


def test_a_tampered_one_click_unsubscribe_is_refused(delivery):
    client = Client(enforce_csrf_checks=True)
    url = path(links.unsubscribe_url(delivery))
    response = client.post(url[:-4] + "abc/", "List-Unsubscribe=One-Click",
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    delivery.contact.refresh_from_db()
    assert not delivery.contact.do_not_email


def test_the_links_of_a_test_send_record_and_change_nothing(client, delivery):
    Delivery.objects.filter(pk=delivery.pk).update(test=True)
    client.get(path(links.open_pixel_url(delivery)), HTTP_USER_AGENT=READER)
    assert client.get(path(links.click_url(delivery, 0))).status_code == 302
    response = client.post(path(links.unsubscribe_url(delivery)), "List-Unsubscribe=One-Click",
                           content_type="application/x-www-form-urlencoded")
    assert b"test email" in response.content
    delivery.contact.refresh_from_db()
    assert not delivery.contact.do_not_email and not Event.objects.exists()


def test_pages_escape_what_they_show(client, delivery):
    Delivery.objects.filter(pk=delivery.pk).update(to_address='"><script>alert(1)</script>@x.test')
    page = client.get(path(links.unsubscribe_url(delivery)))
    assert b"<script>alert(1)" not in page.content and b"&lt;script&gt;" in page.content
