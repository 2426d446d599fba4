"""The send_email action through the engine: once per run, in batches, inside the send window."""

import datetime
import threading
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from tests import factories
from tests.concurrency import postgresql_only
from tests.query_plans import query_plan
from wagtail_segments.campaigns.actions import action_problems
from wagtail_segments.campaigns.executor import execute_run, run_due_steps
from wagtail_segments.campaigns.claims import claim_due_runs
from wagtail_segments.campaigns.models import Run, StepLog
from wagtail_segments.campaigns.tasks import run_due_campaign_steps
from wagtail_segments.contacts.models import Event, Touchpoint
from wagtail_segments.messaging.models import Delivery

pytestmark = pytest.mark.django_db


def email_campaign(message=None, *after, only_confirmed=False, **fields):
    message = message or factories.email_message(subject="Hi {{ first_name|default:\"there\" }}")
    campaign = factories.campaign(**fields)
    steps = factories.chain(
        campaign, ("action", {"action": "send_email", "message": message.pk, "only_confirmed": only_confirmed}), *after,
    )
    return campaign, steps, message


def test_the_engine_sends_each_runs_email_exactly_once_when_the_task_runs_twice():
    campaign, steps, message = email_campaign(None, ("action", {"action": "add_tags", "tags": ["mailed"]}))
    contacts = [factories.contact(first_name=f"C{i}", email=f"c{i}@example.com") for i in range(4)]
    for contact in contacts:
        factories.run(campaign, contact)

    run_due_campaign_steps(seconds=0)
    run_due_campaign_steps(seconds=0)

    assert sorted(m.to[0] for m in mail.outbox) == sorted(c.email for c in contacts)
    assert sorted(m.subject for m in mail.outbox) == ["Hi C0", "Hi C1", "Hi C2", "Hi C3"]
    assert set(Run.objects.values_list("state", flat=True)) == {"completed"}
    assert all(list(c.tags.names()) == ["mailed"] for c in contacts)  # the next step ran too
    logs = StepLog.objects.filter(step=steps[0])
    assert logs.count() == 4 and set(logs.values_list("state", flat=True)) == {"done"}
    log = logs.first()
    assert log.result["status"] == "sent"
    delivery = Delivery.objects.get(run_id=log.run_id, step_key=steps[0].key)
    assert delivery.campaign_id == campaign.pk and delivery.status == "sent"
    assert Event.objects.filter(kind="email_sent", data__campaign=campaign.pk).count() == 4
    assert Touchpoint.objects.filter(kind="email", automatic=True).count() == 4


def test_a_steps_delivery_is_found_through_the_run_and_step_index():
    campaign, steps, _message = email_campaign()
    run = factories.run(campaign, factories.contact(email="i@example.com"))
    run_due_steps()

    deliveries = Delivery.objects.filter(run_id=run.pk, step_key=steps[0].key)

    assert deliveries.count() == 1
    assert "wsg_delivery_run_step" in query_plan(deliveries), query_plan(deliveries)


def test_a_batch_of_due_runs_shares_one_connection(settings):
    from tests.test_email_sending import CountingBackend

    settings.EMAIL_BACKEND = "tests.test_email_sending.CountingBackend"
    CountingBackend.opened = 0
    campaign, _, _ = email_campaign()
    for i in range(6):
        factories.run(campaign, factories.contact(email=f"c{i}@example.com"))

    assert run_due_steps() == 6

    assert len(mail.outbox) == 6 and CountingBackend.opened == 1


def test_a_contact_the_gates_stop_is_skipped_and_the_run_goes_on():
    campaign, steps, _ = email_campaign(None, ("action", {"action": "change_points", "points": 1}), only_confirmed=True)
    run = factories.run(campaign, factories.contact(email="a@example.com"))

    run_due_steps()

    run.refresh_from_db()
    assert mail.outbox == [] and run.state == "completed" and run.contact.points == 1
    log = StepLog.objects.get(run=run, step=steps[0])
    assert log.state == "done" and log.result["status"] == "skipped" and "consent" in log.result["reason"]


def test_outside_the_send_window_the_step_waits_for_the_next_opening_in_the_contacts_zone():
    tokyo = ZoneInfo("Asia/Tokyo")
    local = timezone.now().astimezone(tokyo)
    opens = (local + datetime.timedelta(hours=2)).replace(second=0, microsecond=0)
    campaign, steps, _ = email_campaign(
        send_from=opens.time(), send_until=(opens + datetime.timedelta(hours=1)).time(),
    )
    run = factories.run(campaign, factories.contact(email="a@example.com", time_zone="Asia/Tokyo"))
    # The same window read in the site's zone (London) may well be open now: it is not used.

    run_due_steps()

    run.refresh_from_db()
    assert mail.outbox == [] and not StepLog.objects.exists()
    assert run.state == "waiting" and run.step == steps[0] and run.next_due_at == opens
    Run.objects.filter(pk=run.pk).update(next_due_at=timezone.now())  # as if the window had opened
    transactional = factories.email_message(purpose="transactional")
    later = factories.campaign(send_from=opens.time(), send_until=(opens + datetime.timedelta(hours=1)).time())
    factories.chain(later, ("action", {"action": "send_email", "message": transactional.pk}))
    factories.run(later, factories.contact(email="b@example.com", time_zone="Asia/Tokyo"))
    run_due_steps()
    assert [m.to for m in mail.outbox] == [["b@example.com"]]  # transactional: no window


def test_a_worker_that_died_mid_send_leaves_the_step_unknown_and_the_email_is_not_sent_again():
    campaign, steps, _ = email_campaign()
    run = factories.run(campaign, factories.contact(email="a@example.com"))
    StepLog.objects.create(run=run, step=steps[0], claimed_by="dead-worker")  # committed, never finished

    run_due_steps()

    run.refresh_from_db()
    assert mail.outbox == []
    assert StepLog.objects.get(run=run).state == "unknown" and run.next_due_at is None


def test_a_failed_send_retries_with_the_engines_back_off(settings):
    settings.EMAIL_BACKEND = "tests.test_email_sending.CountingBackend"
    campaign, steps, _ = email_campaign()
    refused = factories.run(campaign, factories.contact(email="refused@example.com"))
    fine = factories.run(campaign, factories.contact(email="fine@example.com"))

    run_due_steps()

    refused.refresh_from_db()
    fine.refresh_from_db()
    assert fine.state == "completed" and [m.to for m in mail.outbox] == [["fine@example.com"]]
    assert refused.state == "active" and refused.next_due_at > timezone.now()
    assert refused.attempts == 1 and "mailbox unavailable" in refused.last_error
    assert StepLog.objects.get(run=refused).state == "failed"
    assert Delivery.objects.get(to_address="refused@example.com").status == "failed"


def test_the_one_run_path_sends_too():
    campaign, _, _ = email_campaign()
    factories.run(campaign, factories.contact(first_name="Ann", email="a@example.com"))
    [run] = claim_due_runs(owner="w1")

    assert execute_run(run, "w1") == "completed"
    assert [m.subject for m in mail.outbox] == ["Hi Ann"]


def test_problems_name_a_deleted_message_and_broken_merge_fields():
    gone = factories.email_message(name="Spring sale")
    gone_id = gone.pk
    gone.delete()
    assert "Spring sale" in action_problems({"action": "send_email", "message": gone_id, "message_name": "Spring sale"})[0]
    assert str(gone_id) in action_problems({"action": "send_email", "message": gone_id})[0]
    broken = factories.email_message("<p>{{ first_name|nosuch }}</p>", name="Broken one")
    assert "Broken one" in action_problems({"action": "send_email", "message": broken.pk})[0]
    assert action_problems({"action": "send_email"})


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_two_workers_over_the_same_due_runs_send_each_email_once():
    campaign, _, _ = email_campaign()
    for i in range(60):
        factories.run(campaign, factories.contact(email=f"c{i}@example.com"))
    barrier = threading.Barrier(2)

    def worker():
        barrier.wait()
        try:
            while run_due_steps(batch=10):
                pass
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(m.to[0] for m in mail.outbox) == sorted(f"c{i}@example.com" for i in range(60))
    assert Delivery.objects.filter(status="sent").count() == 60


def test_a_pause_holds_email_runs_a_worker_had_already_claimed():
    from wagtail_segments.campaigns.batch import execute_batches

    campaign, steps, _ = email_campaign()
    factories.run(campaign, factories.contact(email="a@example.com"))
    claimed = claim_due_runs()
    campaign.status = "paused"
    campaign.save()

    execute_batches(claimed, claimed[0].lease_owner)

    assert mail.outbox == [] and not StepLog.objects.exists()
    assert Run.objects.get().step == steps[0]
