"""Texts contacts send back: the inbound webhook view (token, size, format), each text an
event on the contacts with that number, STOP and START acted on, strangers ignored."""

import json
import re
import sys
import types
from pathlib import Path

import pytest
from django.test import Client

from tests import factories
from wagtail_segments.campaigns.executor import run_due_steps
from wagtail_segments.campaigns.models import StepLog
from wagtail_segments.contacts.models import Contact, Event
from wagtail_segments.messaging.models import Consent
from wagtail_segments.messaging.sms_receiving import keyword

pytestmark = pytest.mark.django_db

TOKEN = "s3cret-inbound-token"
URL = f"/_segments/sms/inbound/{TOKEN}/"


@pytest.fixture
def inbound(settings, sms_outbox):
    settings.WAGTAIL_SEGMENTS = {**settings.WAGTAIL_SEGMENTS, "SMS_INBOUND_TOKEN": TOKEN}
    return sms_outbox


def post(payload, url=URL, **extra):
    body = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
    return Client().post(url, body, content_type="application/json", **extra)


@pytest.mark.parametrize("body", ["STOP", "stop", "  Stop\n", "STOPALL", "unsubscribe", "Cancel", "END", "quit"])
def test_the_standard_opt_out_keywords_are_whole_messages_in_any_case(body):
    assert keyword(body) == body.strip().upper()


@pytest.mark.parametrize("body", ["Stop please", "STOP.", "don't stop", "", "stopp"])
def test_anything_else_is_not_a_keyword(body):
    assert keyword(body) == ""


def test_a_stop_reply_opts_the_contact_out_with_when_and_how(inbound):
    contact = factories.contact(phone="+1 (415) 555-2671")

    response = post({"from": "+14155552671", "body": " Stop "})

    assert response.status_code == 200
    contact.refresh_from_db()
    assert contact.do_not_sms and contact.do_not_sms_reason == "opted out (SMS reply)"
    received = Event.objects.get(contact=contact, kind="sms_received")
    assert received.data == {"from": "+14155552671", "body": " Stop ", "keyword": "STOP"}
    opted_out = Event.objects.get(contact=contact, kind="sms_opted_out")
    assert opted_out.data == {"source": "SMS reply", "keyword": "STOP"}
    consent = Consent.objects.get(contact=contact, channel="sms")
    assert consent.status == "withdrawn" and consent.withdrawn_at == opted_out.time


def test_the_contact_page_shows_the_stop_reply_and_the_withdrawn_consent(inbound, admin_client):
    contact = factories.contact(phone="+14155552671")
    post({"from": "+14155552671", "body": "stop"})

    html = admin_client.get(f"/admin/wagtail_segments/contact/inspect/{contact.pk}/").content.decode()

    assert "Replied STOP by SMS" in html and "Opted out of texts (reply by SMS)" in html
    assert "opted out (reply by SMS)" in html  # the do-not-SMS reason, in words
    assert "Withdrawn" in html


def test_an_opt_out_by_reply_stops_the_next_sms_step(inbound):
    contact = factories.contact(first_name="Ann", phone="+14155552671")
    campaign = factories.campaign()
    factories.chain(campaign, ("action", {"action": "send_sms", "message": factories.sms_message("One").pk}),
                    ("wait", {"minutes": 1}),
                    ("action", {"action": "send_sms", "message": factories.sms_message("Two").pk}))
    run = factories.run(campaign, contact)
    run_due_steps()
    assert [m.body for m in inbound] == ["One"]

    assert post({"from": "+14155552671", "body": "STOP"}).status_code == 200
    run.refresh_from_db()
    run.next_due_at = run.next_due_at.replace(year=2000)  # the wait is over
    run.save(update_fields=["next_due_at"])
    run_due_steps()

    assert [m.body for m in inbound] == ["One"]
    last = StepLog.objects.filter(run=run).order_by("pk").last()
    assert last.result["status"] == "skipped" and "does not want texts" in last.result["reason"]


def test_start_opts_back_in_after_a_stop_but_never_lifts_a_flag_set_by_staff(inbound):
    replied = factories.contact(phone="+14155552671")
    blocked = factories.contact(phone="+14155552672", do_not_sms=True, do_not_sms_reason="asked by phone")
    post({"from": "+14155552671", "body": "STOP"})

    post([{"from": "+14155552671", "body": "unstop"}, {"from": "+14155552672", "body": "START"}])

    replied.refresh_from_db()
    blocked.refresh_from_db()
    assert not replied.do_not_sms and replied.do_not_sms_reason == ""
    consent = Consent.objects.get(contact=replied, channel="sms")
    assert consent.status == "confirmed" and consent.withdrawn_at is None
    assert "previously_withdrawn_at" in consent.details
    assert Event.objects.get(contact=replied, kind="sms_opted_in").data["keyword"] == "UNSTOP"
    assert blocked.do_not_sms and blocked.do_not_sms_reason == "asked by phone"
    assert Event.objects.get(contact=blocked, kind="sms_opted_in").data["still_blocked"] is True


def test_a_reply_is_recorded_on_every_contact_with_that_number_written_any_way(inbound, settings):
    settings.WAGTAIL_SEGMENTS = {**settings.WAGTAIL_SEGMENTS, "SMS_DEFAULT_REGION": "GB"}
    typed = [factories.contact(phone=p) for p in ("07911 123456", "+44 (0) 7911-123-456", "0044 7911 123456")]
    other = factories.contact(phone="+44 7911 123457")
    merged_away = factories.contact(phone="07911123456", merged_into=typed[0])

    post({"from": "+447911123456", "body": "See you at 6"})

    assert sorted(Event.objects.filter(kind="sms_received").values_list("contact_id", flat=True)) == [
        c.pk for c in typed]
    assert not Event.objects.filter(contact__in=[other, merged_away]).exists()
    assert not Contact.objects.filter(do_not_sms=True).exists()


def test_an_unknown_number_gets_the_same_answer_and_nothing_is_kept(inbound):
    factories.contact(phone="+14155552671")
    known = post({"from": "+14155552671", "body": "hello"})
    contacts_before = Contact.objects.count()

    unknown = post({"from": "+14155550000", "body": "STOP"})
    not_a_number = post({"from": "ACME", "body": "STOP"})

    assert unknown.status_code == not_a_number.status_code == known.status_code == 200
    assert unknown.content == not_a_number.content == known.content
    assert Contact.objects.count() == contacts_before
    assert Event.objects.filter(kind="sms_received").count() == 1
    assert not Event.objects.filter(kind="sms_opted_out").exists()


@pytest.mark.parametrize("url", ["/_segments/sms/inbound/wrong-token/", "/_segments/sms/inbound/",
                                 f"/_segments/sms/inbound/{TOKEN}x/"])
def test_a_forged_or_missing_token_is_refused_and_nothing_recorded(inbound, url):
    contact = factories.contact(phone="+14155552671")

    response = post({"from": "+14155552671", "body": "STOP"}, url=url)

    assert response.status_code == 403
    assert "token or signature is not valid" in response.content.decode()
    contact.refresh_from_db()
    assert not contact.do_not_sms and not Event.objects.filter(contact=contact).exists()


def test_no_token_passes_while_the_setting_is_empty(sms_outbox):
    factories.contact(phone="+14155552671")
    assert post({"from": "+14155552671", "body": "STOP"}, url="/_segments/sms/inbound/None/").status_code == 403
    assert post({"from": "+14155552671", "body": "STOP"}, url="/_segments/sms/inbound/").status_code == 403
    assert not Event.objects.exists()


def test_only_post_is_accepted_and_without_a_csrf_token(inbound):
    assert Client().get(URL).status_code == 405
    csrf_checking = Client(enforce_csrf_checks=True)
    factories.contact(phone="+14155552671")
    response = csrf_checking.post(URL, json.dumps({"from": "+14155552671", "body": "hi"}),
                                  content_type="application/json")
    assert response.status_code == 200 and Event.objects.filter(kind="sms_received").count() == 1


@pytest.mark.parametrize("payload, says", [
    (b"{not json", "not JSON"),
    (b"\xff\xfe", "not JSON"),
    ({"body": "STOP"}, "needs “from”"),
    ({"from": "+14155552671"}, "needs “body”"),
    ([], "between 1 and 100"),
    ([{"from": "+14155552671", "body": "hi"}] * 101, "between 1 and 100"),
    ([{"from": "+14155552671", "body": "hi"}, "STOP"], "must be a JSON object"),
])
def test_a_malformed_payload_is_a_clear_400_and_nothing_is_recorded(inbound, payload, says):
    factories.contact(phone="+14155552671")

    response = post(payload)

    assert response.status_code == 400 and says in response.content.decode()
    assert not Event.objects.exists()


def test_an_oversize_payload_is_refused_before_it_is_read(inbound, settings):
    factories.contact(phone="+14155552671")
    huge = {"from": "+14155552671", "body": "STOP", "padding": "x" * 70_000}

    response = post(huge)

    assert response.status_code == 400 and "too large" in response.content.decode()
    assert not Event.objects.exists()


def test_a_long_text_is_kept_cut_and_odd_characters_made_storable(inbound):
    contact = factories.contact(phone="+14155552671")

    post({"from": "+14155552671", "body": "a\x00b\ud800" + "z" * 2000})

    data = Event.objects.get(contact=contact, kind="sms_received").data
    assert data["body"].startswith("ab\ufffd") and len(data["body"]) == 1600 and data["cut"] is True


def test_a_webhook_retried_by_the_provider_is_recorded_once(inbound):
    contact = factories.contact(phone="+14155552671")
    message = {"from": "+14155552671", "body": "Thanks", "id": "SM123"}

    post(message)
    post(message)

    assert Event.objects.filter(contact=contact, kind="sms_received").count() == 1


def test_a_backend_that_does_not_receive_texts_says_so(settings):
    settings.WAGTAIL_SEGMENTS = {"SMS_BACKEND": "tests.test_sms_sending.Down", "SMS_INBOUND_TOKEN": TOKEN}
    response = post({"from": "+14155552671", "body": "STOP"})
    assert response.status_code == 404 and "does not receive texts" in response.content.decode()


def twilio_style_backend_from_the_docs():
    """The example backend of docs/messaging.md, run as written."""
    text = (Path(__file__).resolve().parent.parent / "docs" / "messaging.md").read_text(encoding="utf-8")
    [code] = [block for block in re.findall(r"```python\n(.*?)```", text, re.S) if "def parse_inbound" in block]
    module = types.ModuleType("docs_twilio_example")
    exec(compile(code, "docs/messaging.md", "exec"), module.__dict__)
    return module


def test_the_docs_twilio_style_example_checks_the_signature_and_reads_the_form(settings, monkeypatch):
    module = twilio_style_backend_from_the_docs()
    monkeypatch.setitem(sys.modules, "docs_twilio_example", module)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "auth-token")
    settings.WAGTAIL_SEGMENTS = {"SMS_BACKEND": "docs_twilio_example.TwilioStyleSmsBackend"}
    contact = factories.contact(phone="+14155552671")
    url = "http://testserver/_segments/sms/inbound/"
    form = {"From": "+14155552671", "Body": "STOP", "MessageSid": "SM1"}
    signature = module.twilio_signature("auth-token", url, form)

    forged = Client().post("/_segments/sms/inbound/", form, HTTP_X_TWILIO_SIGNATURE="bad")
    signed = Client().post("/_segments/sms/inbound/", form, HTTP_X_TWILIO_SIGNATURE=signature)

    assert forged.status_code == 403
    assert signed.status_code == 200 and signed["Content-Type"].startswith("text/xml")
    contact.refresh_from_db()
    assert contact.do_not_sms
