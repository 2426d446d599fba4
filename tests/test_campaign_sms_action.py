"""The send_sms action through the engine: sent once, skipped with a reason, retried on failure."""

import pytest
from django.urls import reverse
from django.utils import timezone

from tests import factories
from wagtail_segments.campaigns.actions import action_problems
from wagtail_segments.campaigns.executor import run_due_steps
from wagtail_segments.campaigns.models import Run, StepLog
from wagtail_segments.messaging.models import Delivery

pytestmark = pytest.mark.django_db


def sms_campaign(message):
    campaign = factories.campaign()
    factories.chain(campaign, ("action", {"action": "send_sms", "message": message.pk}),
                    ("action", {"action": "add_tags", "tags": ["texted"]}))
    return campaign


def test_an_sms_step_sends_once_even_when_the_engine_runs_twice(sms_outbox):
    message = factories.sms_message("Hello {{ first_name }}")
    campaign = sms_campaign(message)
    contacts = [factories.contact(first_name=f"C{i}", phone=f"+1415555267{i}") for i in range(3)]
    runs = [factories.run(campaign, c) for c in contacts]

    run_due_steps()
    run_due_steps()

    assert sorted(m.body for m in sms_outbox) == ["Hello C0", "Hello C1", "Hello C2"]
    assert Delivery.objects.filter(status="sent", channel="sms").count() == 3
    delivery = Delivery.objects.get(contact=contacts[0])
    assert (delivery.campaign_id, delivery.run_id, delivery.step_key) == (
        campaign.pk, runs[0].pk, campaign.first_step().key)
    assert set(Run.objects.values_list("state", flat=True)) == {"completed"}
    log = StepLog.objects.get(run=runs[0], step=campaign.first_step())
    assert log.result == {"delivery": delivery.pk, "status": "sent"}


def test_a_contact_without_a_phone_is_skipped_and_the_run_goes_on(sms_outbox):
    campaign = sms_campaign(factories.sms_message())
    contact = factories.contact(first_name="No phone")
    run = factories.run(campaign, contact)

    run_due_steps()

    run.refresh_from_db()
    assert sms_outbox == []
    assert run.state == "completed" and list(contact.tags.names()) == ["texted"]
    log = StepLog.objects.get(run=run, step=campaign.first_step())
    assert log.result["status"] == "skipped" and log.result["reason"] == "No phone number."


def test_a_backend_failure_retries_with_the_engines_back_off(settings, sms_outbox):
    settings.WAGTAIL_SEGMENTS = {**settings.WAGTAIL_SEGMENTS,
                                 "SMS_BACKEND": "tests.test_sms_sending.Down"}
    campaign = sms_campaign(factories.sms_message())
    run = factories.run(campaign, factories.contact(phone="+14155552671"))

    before = timezone.now()
    run_due_steps()

    run.refresh_from_db()
    assert run.state == "active" and run.attempts == 1 and "provider unreachable" in run.last_error
    assert 55 <= (run.next_due_at - before).total_seconds() <= 65  # CAMPAIGN_RETRY_SECONDS
    assert Delivery.objects.get().status == "failed"


def test_problems_name_a_missing_message_and_broken_merge_fields():
    assert action_problems({"action": "send_sms", "message": 999}) == [
        "The SMS message to send (id 999) does not exist."]
    assert action_problems({"action": "send_sms"}) == ["The SMS message to send (id None) does not exist."]
    broken = factories.sms_message("Hi {% if %}")
    assert "merge fields" in action_problems({"action": "send_sms", "message": broken.pk})[0]
    assert action_problems({"action": "send_sms", "message": factories.sms_message().pk}) == []


def test_a_marketing_text_waits_for_the_send_window_in_the_contacts_zone(sms_outbox):
    import datetime
    from zoneinfo import ZoneInfo

    tokyo = ZoneInfo("Asia/Tokyo")
    opens = (timezone.now().astimezone(tokyo) + datetime.timedelta(hours=2)).replace(second=0, microsecond=0)
    campaign = factories.campaign(send_from=opens.time(), send_until=(opens + datetime.timedelta(hours=1)).time())
    factories.chain(campaign, ("action", {"action": "send_sms", "message": factories.sms_message("Sale!").pk}))
    run = factories.run(campaign, factories.contact(phone="+14155552671", time_zone="Asia/Tokyo"))

    run_due_steps()

    run.refresh_from_db()
    assert sms_outbox == [] and run.state == "waiting" and run.next_due_at == opens


def test_the_sms_cap_holds_across_campaigns_and_the_run_page_shows_why(settings, sms_outbox, admin_client):
    settings.WAGTAIL_SEGMENTS = {**settings.WAGTAIL_SEGMENTS, "SMS_FREQUENCY_CAP": 1, "SMS_FREQUENCY_CAP_DAYS": 7}
    contact = factories.contact(phone="+14155552671")
    first, second = sms_campaign(factories.sms_message("First")), sms_campaign(factories.sms_message("Second"))
    factories.run(first, contact)
    run_due_steps()
    later = factories.run(second, contact)

    run_due_steps()

    assert [m.body for m in sms_outbox] == ["First"]
    later.refresh_from_db()
    assert later.state == "completed" and list(contact.tags.names()) == ["texted"]  # the run went on
    log = StepLog.objects.get(run=later, step=second.first_step())
    assert log.result["status"] == "skipped"
    assert log.result["reason"] == "Frequency cap: 1 marketing text in the last 7 days."
    page = admin_client.get(reverse("wagtail_segments_campaign_run", args=[later.pk])).content.decode()
    assert "Frequency cap: 1 marketing text in the last 7 days." in page
