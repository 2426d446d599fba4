"""Background work: the pass over new events, retention, and the schedules."""

import datetime

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_q.models import Schedule

from tests import factories
from wagtail_segments.contacts.tasks import process_new_events, prune_old_data
from wagtail_segments.models import Contact, Event
from wagtail_segments.schedules import ensure_schedules

pytestmark = pytest.mark.django_db


def days_ago(n):
    return timezone.now() - datetime.timedelta(days=n)


def test_new_events_move_last_seen_and_country_forward():
    contact = factories.contact(last_seen=days_ago(10))
    factories.event(contact, time=days_ago(2), country="CA")
    factories.event(contact, time=days_ago(1))
    process_new_events()
    contact.refresh_from_db()
    assert abs((contact.last_seen - days_ago(1)).total_seconds()) < 5
    assert contact.country == "CA"
    # A second pass has nothing new to read.
    assert process_new_events() == 0


def test_events_written_through_a_merged_contacts_cookie_join_the_survivor():
    survivor = factories.contact(email="a@example.com")
    old = factories.contact(merged_into=survivor)
    factories.event(old)
    process_new_events()
    assert survivor.events.count() == 1 and not old.events.exists()


def test_retention_prunes_only_what_it_should():
    known = factories.contact(email="keep@example.com", last_seen=days_ago(900))
    stale_anonymous = factories.contact(last_seen=days_ago(500))
    active_anonymous = factories.contact(last_seen=days_ago(500))
    recent_anonymous = factories.contact(last_seen=days_ago(3))
    old_event = factories.event(known, time=days_ago(400))
    kept_event = factories.event(known, time=days_ago(100))
    factories.event(stale_anonymous, time=days_ago(450))
    factories.event(active_anonymous, time=days_ago(10))

    result = prune_old_data(days=395, batch_size=1)

    assert result == {"events": 2, "contacts": 1}
    assert set(Contact.objects.values_list("pk", flat=True)) == {
        known.pk, active_anonymous.pk, recent_anonymous.pk
    }
    assert not Event.objects.filter(pk=old_event.pk).exists()
    assert Event.objects.filter(pk=kept_event.pk).exists()


def test_retention_command_uses_the_setting(settings):
    contact = factories.contact(email="a@example.com")
    factories.event(contact, time=days_ago(40))
    settings.WAGTAIL_SEGMENTS = {"RETENTION_DAYS": 30}
    call_command("prune_segments_data")
    assert not Event.objects.exists()


def test_schedules_are_created_once_and_kept_up_to_date():
    ensure_schedules()
    ensure_schedules()
    names = list(Schedule.objects.filter(name__startswith="wagtail_segments").values_list("name", flat=True))
    assert sorted(names) == [
        "wagtail_segments: daily segment counts",
        "wagtail_segments: process new events",
        "wagtail_segments: rebuild segments",
        "wagtail_segments: retention",
    ]
    assert Schedule.objects.get(name="wagtail_segments: rebuild segments").minutes == 15
    schedule = Schedule.objects.get(name="wagtail_segments: retention")
    schedule.func = "something.else"
    schedule.save()
    ensure_schedules()
    schedule.refresh_from_db()
    assert schedule.func == "wagtail_segments.contacts.tasks.prune_old_data"


def test_tracked_view_queues_the_pass_once_per_window(browser_client, django_capture_on_commit_callbacks):
    from django_q.models import OrmQ

    page = factories.content_page()
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            browser_client.get(page.url)
    queued = [task for task in OrmQ.objects.all() if task.func() == "wagtail_segments.contacts.tasks.follow_new_events"]
    assert len(queued) == 1


def test_retention_keeps_a_merged_away_row_while_its_survivor_is_active():
    survivor = factories.contact(email="a@example.com", last_seen=days_ago(1))
    merged = factories.contact(last_seen=days_ago(500), merged_into=survivor)
    gone = factories.contact(email="", last_seen=days_ago(500), merged_into=factories.contact(
        email="b@example.com", last_seen=days_ago(600)))
    prune_old_data(days=395)
    assert Contact.objects.filter(pk=merged.pk).exists()
    assert not Contact.objects.filter(pk=gone.pk).exists()


def test_no_second_pass_is_queued_while_the_first_has_not_run(browser_client, django_capture_on_commit_callbacks, monkeypatch):
    """A stopped or busy worker finds one queued pass, not one per window; once that pass
    has run, the next window queues again."""
    from django_q.models import OrmQ

    from wagtail_segments.tracking import recorder

    def queued():
        return [t for t in OrmQ.objects.all() if t.func() == "wagtail_segments.contacts.tasks.follow_new_events"]

    clock = [1000.0]
    monkeypatch.setattr(recorder.monotonic_time, "monotonic", lambda: clock[0])
    page = factories.content_page()
    with django_capture_on_commit_callbacks(execute=True):
        browser_client.get(page.url)
    clock[0] += 60  # many windows later, the worker has not run
    with django_capture_on_commit_callbacks(execute=True):
        browser_client.get(page.url)
    assert len(queued()) == 1
    OrmQ.objects.all().delete()
    process_new_events()  # the worker runs the pass
    with django_capture_on_commit_callbacks(execute=True):
        clock[0] += 60
        browser_client.get(page.url)
    assert len(queued()) == 1


def test_a_failed_queueing_leaves_the_next_window_free_to_try(browser_client, django_capture_on_commit_callbacks, monkeypatch):
    from django_q.models import OrmQ

    from wagtail_segments.tracking import recorder

    clock = [1000.0]
    monkeypatch.setattr(recorder.monotonic_time, "monotonic", lambda: clock[0])
    page = factories.content_page()

    def broker_down(*args, **kwargs):
        raise ConnectionError("broker down")

    with monkeypatch.context() as patched:
        patched.setattr("django_q.tasks.async_task", broker_down)
        with django_capture_on_commit_callbacks(execute=True):
            response = browser_client.get(page.url)
    assert response.status_code == 200  # the visitor's page is unaffected
    clock[0] += 60
    with django_capture_on_commit_callbacks(execute=True):
        browser_client.get(page.url)
    assert OrmQ.objects.count() == 1


def test_the_queued_pass_reads_the_rest_of_a_burst_written_after_it_started(monkeypatch):
    """The second page of a visit, a second after the first, is read by the same queued pass
    (it lingers), not a minute later by the schedule."""
    from wagtail_segments.contacts import tasks
    from wagtail_segments.contacts.models import ProcessingPosition
    from wagtail_segments.contacts.tasks import POSITION_NAME

    page = factories.content_page()
    early, late = factories.contact(last_seen=days_ago(30)), factories.contact(last_seen=days_ago(30))
    first = factories.event(early, page=page)
    # The pass has read everything before this visit (ids are not reset between tests on PostgreSQL).
    ProcessingPosition.objects.update_or_create(name=POSITION_NAME, defaults={"position": first.id - 1})
    clock = [0.0]
    arrivals = [lambda: factories.event(late, page=page)]

    def sleep(seconds):
        clock[0] += seconds
        if arrivals:
            arrivals.pop()()

    monkeypatch.setattr(tasks.time, "sleep", sleep)
    monkeypatch.setattr(tasks.time, "monotonic", lambda: clock[0])
    assert tasks.follow_new_events(seconds=3, interval=1) == 2
    assert clock[0] == 3  # it looked for three seconds, once a second
    for contact in (early, late):
        contact.refresh_from_db()
        assert contact.last_seen > days_ago(1)
