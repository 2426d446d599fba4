"""Background work: the pass over new events, retention, and the schedules."""

import datetime
import time

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_q.models import Schedule

from tests import factories
from tests.concurrency import in_open_transaction, postgresql_only
from tests.segment_helpers import segment as make_segment
from wagtail_segments.contacts.tasks import follow_new_events, process_new_events, prune_old_data
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


def test_retention_prunes_an_anonymous_contact_never_seen_since_long_before():
    never_seen_old = factories.contact(first_seen=days_ago(500))
    never_seen_new = factories.contact(first_seen=days_ago(3))
    prune_old_data(days=395)
    assert not Contact.objects.filter(pk=never_seen_old.pk).exists()
    assert Contact.objects.filter(pk=never_seen_new.pk).exists()


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
        "wagtail_segments: campaign steps",
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

    from wagtail_segments.contacts import pass_queue
    from wagtail_segments.tracking import recorder

    def queued():
        return [t for t in OrmQ.objects.all() if t.func() == "wagtail_segments.contacts.tasks.follow_new_events"]

    clock = [1000.0]
    monkeypatch.setattr(pass_queue.monotonic_time, "monotonic", lambda: clock[0])
    page = factories.content_page()
    with django_capture_on_commit_callbacks(execute=True):
        browser_client.get(page.url)
    clock[0] += 60  # many windows later, the worker has not run
    with django_capture_on_commit_callbacks(execute=True):
        browser_client.get(page.url)
    assert len(queued()) == 1
    OrmQ.objects.all().delete()
    follow_new_events(seconds=0)  # the worker starts the queued pass
    with django_capture_on_commit_callbacks(execute=True):
        clock[0] += 60
        browser_client.get(page.url)
    assert len(queued()) == 1


def test_a_failed_queueing_leaves_the_next_window_free_to_try(browser_client, django_capture_on_commit_callbacks, monkeypatch):
    from django_q.models import OrmQ

    from wagtail_segments.contacts import pass_queue
    from wagtail_segments.tracking import recorder

    clock = [1000.0]
    monkeypatch.setattr(pass_queue.monotonic_time, "monotonic", lambda: clock[0])
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


def test_a_view_whose_request_found_the_pass_still_queued_is_followed_by_the_same_pass(monkeypatch):
    """A view committed just before the pass gives its flag back found the flag taken, so
    its process queued nothing and will queue nothing for a few seconds: the pass reads it
    after the release, takes the flag again and goes on following, so the visitor's next
    view, two seconds later, is read within seconds (not by the minute schedule)."""
    from wagtail_segments.contacts import queued, tasks
    from wagtail_segments.contacts.models import ProcessingPosition, QueuedTask
    from wagtail_segments.contacts.tasks import POSITION_NAME, QUEUED_PASS

    page = factories.content_page()
    visitor = factories.contact(last_seen=days_ago(30))
    ProcessingPosition.objects.update_or_create(
        name=POSITION_NAME, defaults={"position": factories.event(visitor, page=page).id})
    clock = [0.0]
    at_release = [lambda: factories.event(visitor, page=page)]  # its kick found the flag taken
    later = [lambda: factories.event(visitor, page=page)]  # debounced in its process: no kick
    release = queued.release

    def sleep(seconds):
        clock[0] += seconds
        if clock[0] >= 5 and later:
            later.pop()()

    def releasing(name):
        release(name)
        if at_release:
            at_release.pop()()

    monkeypatch.setattr(tasks.time, "sleep", sleep)
    monkeypatch.setattr(tasks.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(tasks.queued, "release", releasing)
    assert queued.claim(QUEUED_PASS, 300)
    assert tasks.follow_new_events(seconds=3, interval=1) == 2
    assert QueuedTask.objects.get(name=QUEUED_PASS).queued_at is None


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
    assert clock[0] == 4  # it looked on for three seconds after the last new event, once a second
    for contact in (early, late):
        contact.refresh_from_db()
        assert contact.last_seen > days_ago(1)


# Last seen follows the visitor's own events only.


def test_only_the_visitors_own_events_move_last_seen_and_country(settings):
    """A rebuild that drops a contact from "seen in the last 7 days" must not bring it back
    through the segment_left event it writes; nor may a merge, a touchpoint or a campaign."""
    settings.WAGTAIL_SEGMENTS = {"BEACON_CUSTOM_KINDS": ["video_played"]}
    contact = factories.contact(last_seen=days_ago(10), country="CA")
    for kind in ("segment_entered", "segment_left", "merge", "touchpoint"):
        factories.event(contact, kind=kind, country="FR")
    process_new_events()
    contact.refresh_from_db()
    assert contact.last_seen < days_ago(9) and contact.country == "CA"

    factories.event(contact, kind="video_played", time=days_ago(1), country="DE")
    process_new_events()
    contact.refresh_from_db()
    assert contact.last_seen > days_ago(2) and contact.country == "DE"


def test_a_contact_created_by_code_or_command_has_no_last_seen_and_is_listed_last():
    seen = factories.contact(email="seen@example.com", last_seen=days_ago(400))
    by_code = Contact.objects.create(email="code@example.com")
    segment = make_segment(kind="static")
    call_command("add_to_segment", segment.slug, "new@example.com", "--create", stdout=None)
    by_command = Contact.objects.get(email="new@example.com")
    assert by_code.last_seen is None and by_command.last_seen is None
    # Never-seen contacts come after every seen one, on PostgreSQL as on SQLite.
    assert list(Contact.objects.values_list("pk", flat=True))[0] == seen.pk


def test_the_pass_sets_last_seen_within_seconds_of_a_first_visit(browser_client):
    page = factories.content_page()
    browser_client.get(page.url)
    contact = Contact.objects.get()
    assert contact.last_seen is None  # the request wrote only its event (and the new contact)
    process_new_events()
    contact.refresh_from_db()
    assert abs((contact.last_seen - timezone.now()).total_seconds()) < 5


# Events whose transaction commits after a higher id was read.


def _processed_ids():
    """The ids that reach events_processed receivers, each time they do."""
    from wagtail_segments.signals import events_processed

    seen = []

    def receiver(sender, events=None, **kwargs):
        seen.extend(events.values_list("id", flat=True) if events is not None else ())

    events_processed.connect(receiver, weak=False)
    return seen, lambda: events_processed.disconnect(receiver)


def _uncommitted(event):
    """Take an event out of sight as if its transaction were still open; give it back later
    under the same id, as its commit would (ids are handed out at insert, seen at commit)."""
    fields = {f.attname: getattr(event, f.attname) for f in Event._meta.concrete_fields}
    event.delete()
    return lambda: Event.objects.create(**fields)


def test_an_event_committed_after_a_higher_id_was_read_is_processed_once():
    survivor = factories.contact(email="a@example.com")
    late_contact = factories.contact(last_seen=days_ago(30), merged_into=survivor)
    other = factories.contact(last_seen=days_ago(30))
    commit_late = _uncommitted(factories.event(late_contact, time=days_ago(1)))
    factories.event(other)
    seen, stop = _processed_ids()
    try:
        process_new_events()
        commit_late()
        assert process_new_events() == 1
        assert process_new_events() == 0
    finally:
        stop()
    survivor.refresh_from_db()
    assert survivor.events.count() == 1 and survivor.last_seen > days_ago(2)
    assert len(seen) == len(set(seen)) == 2


def test_an_id_that_never_commits_is_given_up_after_the_gap_limit(monkeypatch, settings):
    from wagtail_segments.contacts import tasks
    from wagtail_segments.contacts.models import ProcessingPosition

    settings.WAGTAIL_SEGMENTS = {"PROCESS_EVENTS_GAP_SECONDS": 60}
    contact = factories.contact()
    first = factories.event(contact)
    # The pass has read everything before (ids are not reset between tests on PostgreSQL).
    ProcessingPosition.objects.update_or_create(name=tasks.POSITION_NAME, defaults={"position": first.id})
    _uncommitted(factories.event(contact))  # a rolled-back insert: its id never appears
    factories.event(contact)
    process_new_events()
    position = ProcessingPosition.objects.get(name=tasks.POSITION_NAME)
    assert len(position.gaps) == 1
    later = tasks.time.time() + 61
    monkeypatch.setattr(tasks.time, "time", lambda: later)
    process_new_events()
    position.refresh_from_db()
    assert position.gaps == []


def test_a_huge_jump_in_ids_keeps_a_bounded_list_of_gaps():
    from wagtail_segments.contacts.tasks import MAX_GAPS, _holes

    holes = _holes(0, [3, 10**12], MAX_GAPS)
    assert len(holes) == MAX_GAPS and holes[-1] == 10**12 - 1
    assert _holes(5, [6, 8, 9, 12], 100) == [7, 10, 11]


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_an_event_committed_out_of_id_order_by_another_connection_is_processed_once():
    """Transaction A inserts (lower id) and stays open; B inserts and commits (higher id);
    the pass runs; A commits; the pass runs again."""
    survivor = factories.contact(email="a@example.com")
    merged_away = factories.contact(merged_into=survivor)
    other = factories.contact()
    seen, stop = _processed_ids()
    try:
        with in_open_transaction(lambda: factories.event(merged_away, time=days_ago(1))) as early:
            late = factories.event(other)
            assert early.id < late.id
            process_new_events()
        process_new_events()
        assert process_new_events() == 0
    finally:
        stop()
    survivor.refresh_from_db()
    assert survivor.events.get().id == early.id and survivor.last_seen > days_ago(2)
    assert sorted(seen) == [early.id, late.id]


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_queued_pass_returns_at_once_when_another_worker_holds_the_pass():
    from wagtail_segments.contacts.models import ProcessingPosition
    from wagtail_segments.contacts.tasks import POSITION_NAME

    ProcessingPosition.objects.get_or_create(name=POSITION_NAME)
    factories.event(factories.contact())
    holding = ProcessingPosition.objects.select_for_update().filter(name=POSITION_NAME)
    with in_open_transaction(lambda: list(holding)):
        started = time.monotonic()
        assert follow_new_events(seconds=3, interval=0.1) == 0
        assert time.monotonic() - started < 1
    assert process_new_events() == 1


# One pass queued at a time, across processes.


def _queued_passes():
    from django_q.models import OrmQ

    return [t for t in OrmQ.objects.all() if t.func() == "wagtail_segments.contacts.tasks.follow_new_events"]


def test_web_processes_queue_at_most_one_pass_while_no_worker_runs(
    browser_client, django_capture_on_commit_callbacks, monkeypatch, settings
):
    """Eight web processes, views over several debounce windows, no worker: one queued pass.
    Once a worker starts it, the next view may queue one more; a claim older than
    PROCESS_EVENTS_REQUEUE_SECONDS (a task its broker lost) is queued again."""
    from wagtail_segments.contacts import pass_queue
    from wagtail_segments.tracking import recorder

    clock = [1000.0]
    monkeypatch.setattr(pass_queue.monotonic_time, "monotonic", lambda: clock[0])
    page = factories.content_page()

    def views_from_every_process():
        for _process in range(8):
            recorder.reset_debounce()  # another process: its own memory, the same database
            with django_capture_on_commit_callbacks(execute=True):
                browser_client.get(page.url)

    for _window in range(4):
        clock[0] += 60
        views_from_every_process()
    assert len(_queued_passes()) == 1

    follow_new_events(seconds=0)  # a worker starts the queued pass
    views_from_every_process()
    assert len(_queued_passes()) == 2

    from wagtail_segments.contacts.models import QueuedTask

    QueuedTask.objects.update(queued_at=timezone.now() - datetime.timedelta(seconds=301))
    views_from_every_process()
    assert len(_queued_passes()) == 3


def test_views_while_the_pass_lingers_queue_no_second_pass(
    browser_client, django_capture_on_commit_callbacks, monkeypatch
):
    """The flag stays taken while the queued pass runs: one pass queued or running, not one
    of each; the pass reads what was committed while it held the flag, and once it is done
    the next view may queue again."""
    from wagtail_segments.contacts import tasks
    from wagtail_segments.contacts import pass_queue
    from wagtail_segments.tracking import recorder

    clock = [1000.0]
    monkeypatch.setattr(pass_queue.monotonic_time, "monotonic", lambda: clock[0])
    page = factories.content_page()

    def view_from_a_new_process():
        clock[0] += 60
        recorder.reset_debounce()
        with django_capture_on_commit_callbacks(execute=True):
            browser_client.get(page.url)

    view_from_a_new_process()
    assert len(_queued_passes()) == 1
    monkeypatch.setattr(tasks.time, "sleep", lambda _seconds: view_from_a_new_process())
    processed = follow_new_events(seconds=0.05, interval=0)
    assert len(_queued_passes()) == 1
    assert processed == Event.objects.filter(kind="page_view").count()

    view_from_a_new_process()
    assert len(_queued_passes()) == 2


def test_a_message_event_queues_the_pass_so_decisions_hear_of_it_in_seconds(django_capture_on_commit_callbacks):
    """An email opened or clicked is news for decisions and message rules, as a page view is."""
    from django_q.models import OrmQ

    from wagtail_segments.messaging.events import record_message_event
    from wagtail_segments.messaging.models import Delivery

    delivery = Delivery.objects.create(contact=factories.contact(email="a@example.com"), to_address="a@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        record_message_event(delivery, "email_opened")
    queued = [task for task in OrmQ.objects.all() if task.func() == "wagtail_segments.contacts.tasks.follow_new_events"]
    assert len(queued) == 1
