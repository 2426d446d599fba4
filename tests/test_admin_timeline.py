"""The contact's timeline in the admin: each event's details as a sentence or labelled
values, escaped, never a Python dict repr."""

import pytest

from tests import factories
from wagtail_segments.contacts.identity import merge_contacts
from wagtail_segments.contacts.touchpoints import log_touchpoint

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert('x')</script>"


def inspect(admin_client, contact) -> str:
    response = admin_client.get(f"/admin/wagtail_segments/contact/inspect/{contact.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def test_merge_custom_and_unknown_events_read_as_text_and_are_escaped(admin_client):
    contact = factories.contact(email="ann@example.com")
    anonymous = factories.contact()
    for _ in range(12):
        factories.event(anonymous)
    merge_contacts(anonymous, into=contact)
    factories.event(contact, "custom", data={"name": "Chose a plan", "data": {
        "plan": SCRIPT, "seats": 3, "addons": ["sso", "audit"], "billing": {"period": "year"},
    }})
    factories.event(contact, "webinar_joined", data={"webinar_id": 7, "live": True})

    html = inspect(admin_client, contact)

    assert "{'" not in html and "{&#x27;" not in html
    assert SCRIPT not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "Merged with another contact (12 events moved)." in html
    assert "Custom event “Chose a plan”" in html
    assert "<dt>plan</dt>" in html and "<dt>seats</dt>" in html
    assert "sso, audit" in html
    assert "{&quot;period&quot;: &quot;year&quot;}" in html  # nested values as JSON
    assert "<dt>Webinar id</dt>" in html and "<dt>Live</dt>" in html


def test_segment_and_touchpoint_events_say_what_happened(admin_client):
    contact = factories.contact(email="bob@example.com")
    factories.event(contact, "segment_entered", data={"segment": "vips", "segment_id": 1, "name": "VIPs",
                                                      "source": "import"})
    log_touchpoint(contact, "call", note="Renewal <soon>")

    html = inspect(admin_client, contact)

    assert "{'" not in html
    assert "Segment “VIPs”" in html and "Import" in html
    assert "Call (manual)" in html and "Renewal &lt;soon&gt;" in html


def test_a_contact_not_seen_yet_says_so_instead_of_none(admin_client):
    html = inspect(admin_client, factories.contact(email="new@example.com", last_seen=None))
    assert "<dt>Last seen</dt><dd>Not seen yet</dd>" in html
    assert ">None<" not in html


def test_message_events_name_the_message_escaped(admin_client):
    contact = factories.contact(email="cy@example.com")
    message = factories.email_message(name="Welcome <b>back</b>")
    text = factories.sms_message(name="Reminder")
    factories.event(contact, "email_sent", data={"message": message.pk, "delivery": 1})
    factories.event(contact, "email_opened", data={"message": message.pk, "delivery": 1, "machine": False})
    factories.event(contact, "sms_sent", data={"sms_message": text.pk, "delivery": 2})

    html = inspect(admin_client, contact)

    assert "Opened “Welcome &lt;b&gt;back&lt;/b&gt;”" in html
    assert "Sent “Welcome &lt;b&gt;back&lt;/b&gt;”" in html
    assert "Sent the text “Reminder”" in html


def test_form_answers_read_in_the_forms_order_whatever_order_the_database_keeps(admin_client):
    """PostgreSQL's jsonb sorts an object's keys (shortest first): the timeline puts answers
    back in the order of the form's fields."""
    form = factories.form_page("Newsletter", fields=[("Your interest", "dropdown"), ("Email", "email")])
    contact = factories.contact(email="dee@example.com")
    factories.event(contact, "form_submission", page=form, data={
        "form_title": "Newsletter", "answers": {"email": "dee@example.com", "your_interest": "Demo", "gone": "x"},
    })

    html = inspect(admin_client, contact)
    entry = html[html.index("Submitted “Newsletter”"):]

    assert entry.index("Your interest") < entry.index("<dt>Email</dt>") < entry.index("<dt>gone</dt>")


def test_sms_replies_and_opt_outs_read_as_sentences_and_are_escaped(admin_client):
    contact = factories.contact(phone="+14155552671")
    factories.event(contact, "sms_received", data={"from": "+14155552671", "body": "STOP", "keyword": "STOP"})
    factories.event(contact, "sms_opted_out", data={"source": "SMS reply", "keyword": "STOP"})
    factories.event(contact, "sms_received", data={"from": "+14155552671", "body": f"Hi {SCRIPT}"})
    factories.event(contact, "sms_opted_in", data={"source": "SMS reply", "keyword": "START"})

    html = inspect(admin_client, contact)

    assert "Replied STOP by SMS" in html
    assert "Opted out of texts (reply by SMS)" in html
    assert "Opted back in to texts (reply by SMS)" in html
    assert SCRIPT not in html
    assert "Replied “Hi &lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;” by SMS" in html
