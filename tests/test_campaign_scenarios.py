"""The issue's campaign stories, on the demo's own campaigns (example_site/pages/demo_campaigns.py),
through the pass over new events, segment evaluation and the engine, in this process.

Time passes by moving a run's ``next_due_at`` (a wait that came due) or by dating events in
the past; everything else runs as it would under a worker. The same stories through a real
qcluster and an SMTP server are in test_e2e_campaigns.py.
"""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import call_command
from django.utils import timezone
from wagtail.models import Page

from tests import factories
from wagtail_segments.campaigns.executor import run_due_steps
from wagtail_segments.campaigns.lifecycle import activate
from wagtail_segments.campaigns.models import Campaign, Run
from wagtail_segments.contacts.tasks import process_new_events
from wagtail_segments.messaging import sms
from wagtail_segments.models import Contact, Segment
from wagtail_segments.segments.evaluation import evaluate_contacts, rebuild_segment
from wagtail_segments.segments.manual import add_contacts

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(settings, sms_outbox):
    call_command("load_demo", contacts=0, verbosity=0)
    get_user_model().objects.filter(username="admin").update(email="sales@example.com")
    return {c.name: c for c in Campaign.objects.all()}


def engine(django_capture_on_commit_callbacks):
    """What the worker does after visitors act: the pass over new events, then due steps."""
    with django_capture_on_commit_callbacks(execute=True):
        process_new_events()
    with django_capture_on_commit_callbacks(execute=True):
        while run_due_steps():
            pass


def days_pass(campaign: Campaign, days: int) -> None:
    """Move the campaign's runs ``days`` on: what was due within them is due now."""
    now = timezone.now()
    for run in Run.objects.live().filter(campaign=campaign, next_due_at__isnull=False):
        if run.next_due_at <= now + datetime.timedelta(days=days):
            Run.objects.filter(pk=run.pk).update(next_due_at=now)


def sent_to(email: str) -> list[str]:
    return [m.subject for m in mail.outbox if m.to == [email]]


def test_re_engagement_second_email_only_to_who_did_not_open_and_a_visit_ends_it(
        demo, django_capture_on_commit_callbacks):
    campaign = demo["Re-engagement"]
    lapsed = Segment.objects.get(slug="lapsed")
    rebuild_segment(lapsed)  # the first build: no one yet
    long_ago = timezone.now() - datetime.timedelta(days=100)
    quiet, returning = (factories.contact(email=e, first_name=n, last_seen=long_ago)
                        for e, n in (("quiet@example.com", "Quinn"), ("back@example.com", "Bo")))
    with django_capture_on_commit_callbacks(execute=True):
        rebuild_segment(lapsed)
    engine(django_capture_on_commit_callbacks)
    assert sent_to("quiet@example.com") == ["It has been a while, Quinn"]
    assert sent_to("back@example.com") == ["It has been a while, Bo"]

    # Day 2: Bo visits the site; Bo is active this week, the campaign's goal.
    factories.event(returning, "page_view", page=Page.objects.get(slug="pricing"))
    with django_capture_on_commit_callbacks(execute=True):
        process_new_events()
        evaluate_contacts([returning.pk])
    assert Run.objects.get(campaign=campaign, contact=returning).state == "left"

    days_pass(campaign, 3)  # the wait
    engine(django_capture_on_commit_callbacks)
    days_pass(campaign, 1)  # "opened?" times out
    engine(django_capture_on_commit_callbacks)
    assert sent_to("quiet@example.com") == ["It has been a while, Quinn", "One more thing before we let you go"]
    assert sent_to("back@example.com") == ["It has been a while, Bo"]


def test_newsletter_readers_go_to_sales_and_the_others_get_an_sms_if_they_have_a_phone(
        demo, django_capture_on_commit_callbacks):
    campaign = demo["Newsletter (December)"]
    reader = factories.contact(email="reader@example.com", first_name="Rea", phone="+44 20 7946 0000")
    texter = factories.contact(email="texter@example.com", first_name="Tex", phone="+44 20 7946 0001")
    silent = factories.contact(email="silent@example.com", first_name="Sil")
    add_contacts(Segment.objects.get(slug="newsletter-list"), [reader.pk, texter.pk, silent.pk])

    with django_capture_on_commit_callbacks(execute=True):
        assert activate(campaign) == 3
    engine(django_capture_on_commit_callbacks)
    assert len([m for m in mail.outbox if m.subject.startswith("Example Co. news")]) == 3

    # Rea opens it an hour later (a person's mail program, not a scanner).
    from wagtail_segments.messaging.links import open_pixel_url
    from wagtail_segments.messaging.models import Delivery

    delivery = Delivery.objects.get(contact=reader, campaign_id=campaign.pk)
    Delivery.objects.filter(pk=delivery.pk).update(sent_at=timezone.now() - datetime.timedelta(hours=1))
    from django.test import Client

    Client().get(open_pixel_url(delivery).split("localhost", 1)[-1],
                 HTTP_USER_AGENT="Mozilla/5.0 (Macintosh) AppleWebKit/605.1.15 (KHTML, like Gecko)")
    engine(django_capture_on_commit_callbacks)
    assert any(m.to == ["sales@example.com"] and "Rea" in m.body for m in mail.outbox)

    days_pass(campaign, 1)
    engine(django_capture_on_commit_callbacks)
    assert [text.to for text in sms.outbox] == ["+442079460001"]
    states = dict(Run.objects.filter(campaign=campaign).values_list("contact__email", "state"))
    assert states == {"reader@example.com": "completed", "texter@example.com": "completed",
                      "silent@example.com": "completed"}


def test_renewal_reminder_then_renewed_or_handed_to_sales(demo, django_capture_on_commit_callbacks):
    campaign = demo["Renewal"]
    due = Segment.objects.get(slug="renewal-due")
    rebuild_segment(due)
    renewal_day = (timezone.localdate() + datetime.timedelta(days=30)).isoformat()
    keen, late = (factories.contact(email=e, properties={"renewal_date": renewal_day})
                  for e in ("keen@example.com", "late@example.com"))
    with django_capture_on_commit_callbacks(execute=True):
        rebuild_segment(due)
    engine(django_capture_on_commit_callbacks)
    reminder = next(m for m in mail.outbox if m.to == ["keen@example.com"])
    assert reminder.subject == "Your subscription renews in 30 days"
    from wagtail_segments.messaging.models import Delivery

    # The button's link goes through the click redirect, to the renewal form and nowhere else.
    [links] = Delivery.objects.filter(contact=keen, campaign_id=campaign.pk).values_list("links", flat=True)
    assert any(link.endswith("/renew/") for link in links) and "/_segments/c/" in reminder.body

    factories.event(keen, "form_submission", page=Page.objects.get(slug="renew"))
    engine(django_capture_on_commit_callbacks)
    assert "renewed" in keen.tags.names()

    days_pass(campaign, 14)
    engine(django_capture_on_commit_callbacks)
    assert "renewed" not in Contact.objects.get(pk=late.pk).tags.names()
    assert any(m.to == ["sales@example.com"] and "late@example.com" in m.body for m in mail.outbox)


def test_a_purchase_ends_lead_nurture_at_once_mid_wait(demo, django_capture_on_commit_callbacks):
    campaign = demo["Lead nurture"]
    lead = factories.contact(email="lead@example.com")
    factories.event(lead, "form_submission", page=Page.objects.get(slug="demo"))
    with django_capture_on_commit_callbacks(execute=True):
        process_new_events()
    engine(django_capture_on_commit_callbacks)
    run = Run.objects.get(campaign=campaign, contact=lead)
    assert run.state == "waiting" and sent_to("lead@example.com") == ["How teams like yours plan their week"]

    with django_capture_on_commit_callbacks(execute=True):
        lead.tags.add("customer")  # the CRM marks the purchase
        evaluate_contacts([lead.pk], {"tags"})  # the task the tag change queues
    run.refresh_from_db()
    assert run.state == "left"
    days_pass(campaign, 3)
    engine(django_capture_on_commit_callbacks)
    assert sent_to("lead@example.com") == ["How teams like yours plan their week"]


def test_turns_18_gets_the_birthday_email_on_the_day_once(demo, django_capture_on_commit_callbacks):
    segment = Segment.objects.get(slug="turns-18-today")
    rebuild_segment(segment)
    today = timezone.localdate()
    born = today.replace(year=today.year - 18) if not (today.month == 2 and today.day == 29) else None
    if born is None:
        pytest.skip("29 February: the leap-day rule is tested in test_rules")
    tomorrow = factories.contact(email="tomorrow@example.com",
                                 properties={"date_of_birth": (born + datetime.timedelta(days=1)).isoformat()})
    birthday = factories.contact(email="today@example.com", first_name="Ada",
                                 properties={"date_of_birth": born.isoformat()})
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            rebuild_segment(Segment.objects.get(pk=segment.pk))
        engine(django_capture_on_commit_callbacks)
    assert sent_to("today@example.com") == ["Happy birthday, Ada!"]
    assert sent_to("tomorrow@example.com") == []
    assert tomorrow.pk and birthday.pk
