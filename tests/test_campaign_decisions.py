"""Decisions: yes as soon as the contact does it (driven by the event), no when the time runs
out, and exactly one of them (or a goal) moves a run."""

import datetime
import threading

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from tests import factories
from tests.concurrency import postgresql_only
from tests.segment_helpers import segment
from wagtail_segments.campaigns.claims import claim_due_runs
from wagtail_segments.campaigns.decisions import answer_events, take_yes
from wagtail_segments.campaigns.entry import enrol
from wagtail_segments.campaigns.executor import execute_run, run_due_steps
from wagtail_segments.campaigns.models import Run, StepLog
from wagtail_segments.campaigns.receivers import on_events_processed, reach_goals
from wagtail_segments.contacts.models import Event
from wagtail_segments.contacts.tasks import process_new_events
from wagtail_segments.messaging.models import EmailMessage
from wagtail_segments.segments.manual import add_contacts

pytestmark = pytest.mark.django_db


def decision_campaign(*before, **decision):
    """A campaign: ``before`` steps, then the decision, then "yes"/"no" tags on its branches."""
    campaign = factories.campaign()
    steps = factories.chain(campaign, *before)
    fork = factories.step(campaign, "decision", name="Did it?", parent=steps[-1] if steps else None, **decision)
    factories.step(campaign, "action", parent=fork, branch="yes", action="add_tags", tags=["yes"])
    factories.step(campaign, "action", parent=fork, branch="no", action="add_tags", tags=["no"])
    return campaign, fork


def email():
    return EmailMessage.objects.create(name="Newsletter", subject="News")


def opened(contact, campaign, message, time=None, **data):
    return factories.event(contact, "email_opened", time=time or timezone.now(),
                           data={"campaign": campaign.pk, "message": message.pk, "machine": False, **data})


def tags(contact):
    return sorted(contact.tags.names())


def test_a_decision_waits_until_its_deadline():
    message = email()
    campaign, fork = decision_campaign(message=message.pk, did="opened", days=3)
    contact = factories.contact()
    before = timezone.now()
    enrol(campaign, [contact])
    run = Run.objects.get(contact=contact)
    assert run.state == "waiting" and run.step == fork
    assert datetime.timedelta(days=3) <= run.next_due_at - before < datetime.timedelta(days=3, seconds=5)
    assert run_due_steps() == 0


def test_an_open_answers_yes_at_once_through_the_pass_over_new_events():
    message = email()
    campaign, fork = decision_campaign(did="opened", message=message.pk, days=3)
    contact = factories.contact()
    enrol(campaign, [contact])
    process_new_events()  # what came before

    opened(contact, campaign, message)
    process_new_events()  # the pass sends events_processed: the receiver moves the run
    run = Run.objects.get(contact=contact)
    assert run.state == "active" and run.next_due_at <= timezone.now()
    assert run.branches == {str(fork.key): "yes"}
    assert StepLog.objects.get(run=run, step=fork).result["by"] == "event"

    run_due_steps()
    assert tags(contact) == ["yes"]


def test_the_receiver_moves_only_runs_whose_decision_the_event_answers():
    message, other = email(), email()
    campaign, fork = decision_campaign(did="opened", message=message.pk, days=3)
    other_campaign, _fork = decision_campaign(did="opened", message=message.pk, days=3)
    answered, wrong_message, other_run = factories.contact(), factories.contact(), factories.contact()
    for contact in (answered, wrong_message):
        enrol(campaign, [contact])
    enrol(other_campaign, [other_run])
    events = [opened(answered, campaign, message), opened(wrong_message, campaign, other),
              opened(other_run, campaign, message)]  # an email of another campaign

    moved = answer_events(Event.objects.filter(pk__in=[e.pk for e in events]),
                          {answered.pk, wrong_message.pk, other_run.pk}, {"email_opened"})

    assert moved == 1
    assert dict(Run.objects.values_list("contact_id", "step__branch")) == {
        answered.pk: "yes", wrong_message.pk: "next", other_run.pk: "next"}


def test_machine_opens_do_not_answer_unless_the_decision_says_so():
    message = email()
    strict, _ = decision_campaign(did="opened", message=message.pk, days=1)
    lenient, _ = decision_campaign(did="opened", message=message.pk, days=1, machine_opens=True)
    a, b = factories.contact(), factories.contact()
    enrol(strict, [a])
    enrol(lenient, [b])
    events = [opened(a, strict, message, machine=True), opened(b, lenient, message, machine=True)]
    on_events_processed(Event, events=Event.objects.filter(pk__in=[e.pk for e in events]),
                        contact_ids={a.pk, b.pk}, kinds={"email_opened"})
    assert Run.objects.get(contact=a).step.kind == "decision"
    assert Run.objects.get(contact=b).step.branch == "yes"


def test_no_when_the_time_runs_out():
    page = factories.content_page()
    campaign, fork = decision_campaign(did="visited", page=page.pk, days=2)
    contact = factories.contact()
    enrol(campaign, [contact])
    Run.objects.filter(contact=contact).update(next_due_at=timezone.now() - datetime.timedelta(seconds=1))

    run_due_steps()

    run = Run.objects.get(contact=contact)
    assert run.state == "completed" and tags(contact) == ["no"]
    assert run.branches == {str(fork.key): "no"}
    assert StepLog.objects.get(run=run, step=fork).result == {"branch": "no", "by": "timeout"}


def test_what_the_contact_did_since_the_step_before_counts_on_arrival():
    section = factories.section_page("Pricing")
    child = factories.content_page("Plans", parent=section)
    campaign, fork = decision_campaign(("wait", {"days": 2}), did="visited", page=section.pk, descendants=True, days=5)
    contact = factories.contact()
    enrol(campaign, [contact])
    # The wait began two days ago and ends now; the contact visited a page of the section
    # meanwhile (and once before it, which does not count).
    now = timezone.now()
    run = Run.objects.get(contact=contact)
    Run.objects.filter(pk=run.pk).update(reached_step_at=now - datetime.timedelta(days=2), next_due_at=now)
    factories.event(contact, "page_view", page=child, time=now - datetime.timedelta(days=1))

    run_due_steps()

    run.refresh_from_db()
    assert run.state == "completed" and tags(contact) == ["yes"]
    assert run.previous_step_at is not None and run.reached_step_at >= run.previous_step_at


def test_a_visit_before_the_step_before_began_does_not_count():
    page = factories.content_page()
    campaign, fork = decision_campaign(("wait", {"days": 2}), did="visited", page=page.pk, days=5)
    contact = factories.contact()
    enrol(campaign, [contact])
    now = timezone.now()
    Run.objects.filter(contact=contact).update(reached_step_at=now - datetime.timedelta(days=2), next_due_at=now)
    factories.event(contact, "page_view", page=page, time=now - datetime.timedelta(days=3))
    run_due_steps()
    run = Run.objects.get(contact=contact)
    assert (run.state, run.step) == ("waiting", fork)
    assert run.previous_step_at == now - datetime.timedelta(days=2)


def test_a_visit_before_the_previous_action_does_not_count():
    page = factories.content_page()
    campaign, _fork = decision_campaign(("action", {"action": "change_points", "points": 1}),
                                        did="visited", page=page.pk, days=1)
    contact = factories.contact()
    factories.event(contact, "page_view", page=page, time=timezone.now() - datetime.timedelta(minutes=5))
    enrol(campaign, [contact])
    run_due_steps()
    run = Run.objects.get(contact=contact)
    assert run.state == "waiting" and run.step.kind == "decision"


def test_a_form_submission_answers_a_form_decision():
    form = factories.form_page()
    campaign, _fork = decision_campaign(did="submitted", form=form.pk, days=14)
    contact = factories.contact()
    enrol(campaign, [contact])
    submitted = factories.event(contact, "form_submission", page=form)
    answer_events(Event.objects.filter(pk=submitted.pk), {contact.pk}, {"form_submission"})
    run_due_steps()
    assert tags(contact) == ["yes"]


def test_a_tag_added_while_waiting_answers_yes(django_capture_on_commit_callbacks):
    campaign, _fork = decision_campaign(did="tagged", tag="Customer", days=30)
    contact, other = factories.contact(), factories.contact()
    enrol(campaign, [contact, other])
    with django_capture_on_commit_callbacks(execute=True):
        contact.tags.add("customer")
        other.tags.add("prospect")
    run_due_steps()
    assert tags(contact) == ["customer", "yes"]
    assert Run.objects.get(contact=other).step.kind == "decision"


def test_a_tag_the_contact_already_has_answers_yes_on_arrival():
    campaign, _fork = decision_campaign(did="tagged", tag="customer", days=30)
    contact = factories.contact()
    contact.tags.add("customer")
    enrol(campaign, [contact])
    run_due_steps()
    assert tags(contact) == ["customer", "yes"]


def test_entering_a_segment_answers_yes(django_capture_on_commit_callbacks):
    vips = segment(kind="static", build=False)
    campaign, _fork = decision_campaign(did="entered_segment", segment=vips.pk, days=30)
    contact = factories.contact()
    enrol(campaign, [contact])
    with django_capture_on_commit_callbacks(execute=True):
        add_contacts(vips, [contact])
    assert Run.objects.get(contact=contact).step.branch == "yes"


def test_a_paused_campaign_does_not_answer_until_resumed():
    message = email()
    campaign, _fork = decision_campaign(did="opened", message=message.pk, days=3)
    contact = factories.contact()
    enrol(campaign, [contact])
    campaign.status = "paused"
    campaign.save()
    event = opened(contact, campaign, message)
    assert answer_events(Event.objects.filter(pk=event.pk), {contact.pk}, {"email_opened"}) == 0


def test_yes_by_event_and_the_time_out_race_one_winner():
    """The engine claimed the run at its deadline; the answer arrives before it acts."""
    message = email()
    campaign, fork = decision_campaign(did="opened", message=message.pk, days=1)
    contact = factories.contact()
    enrol(campaign, [contact])
    now = timezone.now()
    Run.objects.filter(contact=contact).update(reached_step_at=now - datetime.timedelta(days=1), next_due_at=now)
    owner = "worker-1"
    (claimed,) = claim_due_runs(owner=owner)
    event = opened(contact, campaign, message, time=now - datetime.timedelta(minutes=1))  # read late by the pass
    assert answer_events(Event.objects.filter(pk=event.pk), {contact.pk}, {"email_opened"}) == 1

    assert execute_run(claimed, owner) == "lost"  # the time-out lost: nothing done for it

    run_due_steps()
    run = Run.objects.get(contact=contact)
    assert tags(contact) == ["yes"] and run.state == "completed"
    assert StepLog.objects.filter(run=run, step=fork).count() == 1


def test_a_goal_first_and_a_late_answer_changes_nothing():
    customers = segment(kind="static", build=False)
    message = email()
    campaign, fork = decision_campaign(did="opened", message=message.pk, days=1)
    factories.step(campaign, "goal", segment=customers.pk)
    contact = factories.contact()
    enrol(campaign, [contact])
    stale = Run.objects.get(contact=contact)

    assert reach_goals(customers, [contact.pk]) == 1
    assert take_yes(stale, fork, {"by": "event"}) is False

    stale.refresh_from_db()
    assert stale.state == "left" and not StepLog.objects.filter(run=stale, step=fork).exists()


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_answers_racing_time_outs_and_goals_on_many_runs_move_each_run_once():
    customers = segment(kind="static", build=False)
    message = email()
    campaign, fork = decision_campaign(did="opened", message=message.pk, days=1)
    factories.step(campaign, "goal", segment=customers.pk)
    contacts = [factories.contact() for _ in range(150)]
    enrol(campaign, contacts)
    # Every deadline has come, and every contact opened just before: the answer and the
    # time-out race (both would say yes; only one may move the run).
    now = timezone.now()
    Run.objects.update(reached_step_at=now - datetime.timedelta(days=1), next_due_at=now)
    events = [opened(c, campaign, message, time=now - datetime.timedelta(minutes=1)) for c in contacts]
    barrier = threading.Barrier(3)
    errors = []

    def answers():
        try:
            barrier.wait(10)
            for contact, event in zip(contacts, events):
                answer_events(Event.objects.filter(pk=event.pk), {contact.pk}, {"email_opened"})
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    def goals():
        try:
            barrier.wait(10)
            for contact in contacts[::3]:
                reach_goals(customers, [contact.pk])
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    racers = [threading.Thread(target=answers), threading.Thread(target=goals)]
    for racer in racers:
        racer.start()
    barrier.wait(10)
    while run_due_steps(batch=5):
        pass
    for racer in racers:
        racer.join(60)
    while run_due_steps(batch=50):
        pass

    assert errors == []
    for run in Run.objects.all():
        decided = StepLog.objects.filter(run=run, step=fork)
        assert decided.count() <= 1
        got = set(run.contact.tags.names())
        assert len(got) <= 1  # never both branches
        if run.state == "completed":
            assert got == {decided.get().result["branch"]}
        else:
            assert run.state == "left"


def test_after_a_batched_email_the_decision_counts_what_the_contact_did_while_the_email_waited():
    """Email steps move runs in bulk (campaigns/batch.py); a decision after one still looks at
    each contact's own history since the email step was reached (here: a visit while the
    email waited two days for its send window)."""
    page = factories.content_page()
    message = factories.email_message()
    campaign, fork = decision_campaign(("action", {"action": "send_email", "message": message.pk}),
                                       did="visited", page=page.pk, days=5)
    visitor, other = factories.contact(email="v@example.com"), factories.contact(email="o@example.com")
    enrol(campaign, [visitor, other])
    now = timezone.now()
    Run.objects.update(reached_step_at=now - datetime.timedelta(days=2), next_due_at=now)
    factories.event(visitor, "page_view", page=page, time=now - datetime.timedelta(days=1))

    run_due_steps()

    assert len(mail.outbox) == 2
    visited, waiting = Run.objects.get(contact=visitor), Run.objects.get(contact=other)
    assert visited.state == "completed" and tags(visitor) == ["yes"]
    assert (waiting.state, waiting.step) == ("waiting", fork)
    assert waiting.previous_step_at == now - datetime.timedelta(days=2)
