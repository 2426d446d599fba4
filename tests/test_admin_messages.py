"""Email and SMS message screens: create, list, preview as a chosen contact, a test send to
yourself; each refused without its permission."""

import pytest
from django.core import mail
from django.urls import reverse
from wagtail.models import ModelLogEntry

from tests import factories
from tests.admin_helpers import editor
from wagtail_segments.messaging.models import EmailMessage, SmsMessage

pytestmark = pytest.mark.django_db


@pytest.fixture
def writer(client):
    user = editor("writer", "view_emailmessage", "add_emailmessage", "change_emailmessage",
                  "view_smsmessage", "add_smsmessage", "change_smsmessage")
    client.force_login(user)
    client.user = user
    return client


def email():
    return EmailMessage.objects.create(
        name="Welcome", subject="Hello {{ first_name|default:'there' }}", purpose="marketing",
        body=[("text", "<p>Dear {{ first_name|default:'friend' }}, welcome.</p>")],
    )


def test_messages_are_in_the_marketing_menu_and_listed(writer):
    email()
    factories.sms_message(name="Reminder")
    home = writer.get("/admin/").content.decode()
    assert "Emails" in home and "SMS messages" in home
    listing = writer.get("/admin/wagtail_segments/emailmessage/").content.decode()
    assert "Welcome" in listing and "Preview" in listing
    assert "Reminder" in writer.get("/admin/wagtail_segments/smsmessage/").content.decode()


def test_create_an_email_with_blocks_and_its_purpose(writer):
    data = {"name": "Receipt", "subject": "Your order", "preheader": "", "purpose": "transactional",
            "from_email": "", "reply_to": "", "body-count": "1", "body-0-type": "text", "body-0-deleted": "",
            "body-0-order": "0", "body-0-id": "", "body-0-value": '{"blocks":[{"key":"a","text":"Thanks","type":"unstyled","depth":0,"inlineStyleRanges":[],"entityRanges":[]}],"entityMap":{}}'}
    response = writer.post("/admin/wagtail_segments/emailmessage/create/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    made = EmailMessage.objects.get(name="Receipt")
    assert made.purpose == "transactional" and "Thanks" in str(made.body)
    assert ModelLogEntry.objects.filter(object_id=str(made.pk), action="wagtail.create", user=writer.user).exists()


def test_sms_preview_as_a_contact_found_by_search(writer):
    message = factories.sms_message(body="Hi {{ first_name|default:'there' }}!")
    ada = factories.contact(email="ada@example.com", first_name="Ada")
    page = writer.get(reverse("wagtail_segments_sms_preview", args=[message.pk]) + "?q=ada").content.decode()
    assert f"?contact={ada.pk}" in page
    preview = writer.get(reverse("wagtail_segments_sms_preview", args=[message.pk]) + f"?contact={ada.pk}")
    assert "Hi Ada!" in preview.content.decode()
    anonymous = writer.get(reverse("wagtail_segments_sms_preview", args=[message.pk]))
    assert "Hi there!" in anonymous.content.decode()


def test_email_preview_and_test_send_to_yourself(writer):
    pytest.importorskip("wagtail_segments.messaging.sending")  # the email slice
    message = email()
    ada = factories.contact(email="ada@example.com", first_name="Ada")
    preview = writer.get(reverse("wagtail_segments_email_preview", args=[message.pk]) + f"?contact={ada.pk}")
    content = preview.content.decode()
    assert "Hello Ada" in content and "Dear Ada" in content
    assert "sandbox" in content  # the email's HTML in its own sandboxed document
    sent = writer.post(reverse("wagtail_segments_email_preview", args=[message.pk]), {"contact": ada.pk})
    assert sent.status_code == 302
    (test,) = mail.outbox
    assert test.to == ["writer@example.com"] and "Hello Ada" in test.subject
    assert ModelLogEntry.objects.filter(action="wagtail_segments.test_sent", user=writer.user).exists()


def test_message_screens_are_refused_without_permission(client):
    client.force_login(editor("nobody", "view_campaign"))
    message, sms = email(), factories.sms_message()
    assert client.get(reverse("wagtail_segments_email_preview", args=[message.pk])).status_code == 403
    assert client.post(reverse("wagtail_segments_email_preview", args=[message.pk])).status_code == 403
    assert client.get(reverse("wagtail_segments_sms_preview", args=[sms.pk])).status_code == 403
    assert "SMS messages" not in client.get("/admin/").content.decode()
    assert not mail.outbox


def test_a_viewer_previews_but_cannot_send_a_test(client):
    client.force_login(editor("reader", "view_emailmessage"))
    message = email()
    assert client.post(reverse("wagtail_segments_email_preview", args=[message.pk])).status_code == 403
    assert not mail.outbox


MARKUP = '<img src=x onerror=alert(1)><script>alert(2)</script>'


def test_a_contacts_markup_is_shown_as_text_in_the_plain_text_part_of_the_email_preview(writer):
    # A visitor types markup as their first name in a form; the marketer previews as them.
    pytest.importorskip("wagtail_segments.messaging.sending")
    message = email()
    visitor = factories.contact(email="mallory@example.com", first_name=MARKUP)
    page = writer.get(reverse("wagtail_segments_email_preview", args=[message.pk]) + f"?contact={visitor.pk}")
    content = page.content.decode()
    assert "<script>alert(2)</script>" not in content and "<img src=x" not in content
    assert "Dear &lt;img src=x onerror=alert(1)&gt;&lt;script&gt;alert(2)&lt;/script&gt;, welcome." in content


def test_a_contacts_markup_is_shown_as_text_in_the_sms_preview(writer):
    message = factories.sms_message(body="Hi {{ first_name }}!")
    visitor = factories.contact(email="mallory@example.com", first_name=MARKUP)
    page = writer.get(reverse("wagtail_segments_sms_preview", args=[message.pk]) + f"?contact={visitor.pk}")
    content = page.content.decode()
    assert "<script>alert(2)</script>" not in content and "<img src=x" not in content
    assert "Hi &lt;img src=x onerror=alert(1)&gt;&lt;script&gt;alert(2)&lt;/script&gt;!" in content
