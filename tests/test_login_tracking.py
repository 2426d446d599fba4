"""A login links the visitor's contact to the user and merges an anonymous history."""

import pytest
from django.contrib.auth.models import User

from tests import factories
from wagtail_segments.conf import settings as conf
from wagtail_segments.models import Contact, Event

pytestmark = pytest.mark.django_db


def login(client, user):
    response = client.post("/login/", {"username": user.username, "password": "pw"})
    assert response.status_code == 302
    return response


def test_login_merges_the_anonymous_history_and_repoints_the_cookie(browser_client):
    user = User.objects.create_user("ann", "ann@example.com", "pw", first_name="Ann")
    known = factories.contact(email="ANN@example.com", first_name="Annie")
    page = factories.content_page()
    browser_client.get(page.url)
    anonymous = Contact.objects.get(email_key__isnull=True)
    login(browser_client, user)
    known.refresh_from_db()
    assert known.user == user
    assert known.first_name == "Annie"
    assert known.events.filter(kind="page_view").count() == 1
    assert known.events.filter(kind="login").count() == 1
    assert known.events.filter(kind="merge").exists()
    anonymous.refresh_from_db()
    assert anonymous.merged_into == known
    assert browser_client.cookies[conf.COOKIE_NAME].value.startswith(f"{known.pk}:")
    browser_client.get(page.url)
    assert known.events.filter(kind="page_view").count() == 2


def test_login_of_a_new_user_turns_the_visitor_into_their_contact(browser_client):
    user = User.objects.create_user("bo", "bo@example.com", "pw", last_name="Berg")
    browser_client.get(factories.content_page().url)
    login(browser_client, user)
    contact = Contact.objects.get()
    assert contact.user == user and contact.email == "bo@example.com" and contact.last_name == "Berg"


def test_login_on_someone_elses_browser_does_not_merge_them(browser_client):
    form = factories.form_page()
    browser_client.post(form.url, {"email": "first@example.com"})
    first = Contact.objects.get()
    user = User.objects.create_user("second", "second@example.com", "pw")
    login(browser_client, user)
    second = Contact.objects.get(user=user)
    assert second.pk != first.pk
    first.refresh_from_db()
    assert first.merged_into is None and first.email == "first@example.com"
    assert browser_client.cookies[conf.COOKIE_NAME].value.startswith(f"{second.pk}:")


def test_staff_login_is_not_tracked(browser_client):
    user = User.objects.create_user("editor", "ed@example.com", "pw", is_staff=True)
    login(browser_client, user)
    assert not Contact.objects.exists() and not Event.objects.exists()


def test_a_user_sharing_an_email_with_a_linked_contact_gets_their_own(browser_client):
    first = User.objects.create_user("first", "same@example.com", "pw")
    owner = factories.contact(email="same@example.com", user=first)
    second = User.objects.create_user("second", "same@example.com", "pw")
    login(browser_client, second)
    mine = Contact.objects.get(user=second)
    assert mine.pk != owner.pk
    owner.refresh_from_db()
    assert owner.user == first


def test_a_login_racing_another_login_of_the_same_user_joins_its_contact(browser_client, monkeypatch):
    """Two logins of one user at once (two tabs, two devices): the other login commits the
    user's contact between this one's lookup and its save. This login joins that contact
    instead of losing its event to the unique user link."""
    from wagtail_segments.tracking import login as login_tracking

    user = User.objects.create_user("ann", "ann@example.com", "pw")
    browser_client.get(factories.content_page().url)
    visitor = Contact.objects.get()
    original = login_tracking.contact_for_user
    rivals = []

    def contact_for_user(who):
        if not rivals:
            rivals.append(Contact.objects.create(user=who, email=who.email))
            return None  # what the lookup saw, just before the other login committed
        return original(who)

    monkeypatch.setattr(login_tracking, "contact_for_user", contact_for_user)
    login(browser_client, user)
    rival = rivals[0]
    visitor.refresh_from_db()
    assert visitor.merged_into_id == rival.pk
    assert rival.events.filter(kind="login").count() == 1
    assert rival.events.filter(kind="page_view").count() == 1
    assert browser_client.cookies[conf.COOKIE_NAME].value.startswith(f"{rival.pk}:")
