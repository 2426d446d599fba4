"""Every task of the app gives the same outcome run twice as run once.

django-q2 runs a task again when its worker dies before acknowledging it (and, with a
``Q_CLUSTER`` that check E006 refuses, while the first run still waits or runs). Each task is
run on a fresh copy of one scenario, once, then twice: on PostgreSQL twice at once, from two
threads with a connection each; on SQLite one after the other, since SQLite takes one writer
at a time. The outcome compared is what an editor could see: contacts' derived fields, events
(the entered/left events included), memberships, member counts, daily counts and how far the
event pass has read. Tasks are found by name, as django-q2 calls them.
"""

from __future__ import annotations

import datetime
import re
import threading
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone
from django.utils.module_loading import import_string

from tests import factories
from tests.segment_helpers import rule, segment
from wagtail_segments.campaigns.models import Campaign, Run
from wagtail_segments.contacts.models import Contact, Event, ProcessingPosition, TaggedContact
from wagtail_segments.contacts.tasks import POSITION_NAME
from wagtail_segments.schedules import SCHEDULES
from wagtail_segments.segments.models import Segment, SegmentDailyCount

pytestmark = pytest.mark.django_db(transaction=True)

PACKAGE = Path(__file__).resolve().parent.parent / "wagtail_segments"

NOW = timezone.now()


def scenario() -> dict:
    """Contacts with recent and old events, a merged-away contact still writing through its old
    cookie, a segment built before the events came ("pricing": members to gain) and one built
    after ("known"). Returns the ids the tasks take."""
    pricing = segment(rule("page_views", target="path", path="/pricing/", window="last_days", days=30),
                      slug="pricing")
    ann = Contact.objects.create(first_name="ann", email="ann@example.com", last_seen=None)
    bob = Contact.objects.create(first_name="bob", last_seen=None)
    gone = Contact.objects.create(first_name="gone", merged_into=ann, last_seen=None)
    stale = Contact.objects.create(first_name="stale", last_seen=NOW - datetime.timedelta(days=800))
    old = NOW - datetime.timedelta(days=500)
    for contact, path, time, country in [
        (ann, "/pricing/", NOW - datetime.timedelta(days=2), "GB"),
        (bob, "/pricing/", NOW - datetime.timedelta(days=1), "FR"),
        (bob, "/blog/", NOW, ""),
        (gone, "/pricing/", NOW - datetime.timedelta(hours=1), "DE"),
        (ann, "/old/", old, ""),
        (stale, "/old/", old, ""),
    ]:
        Event.objects.create(contact=contact, kind="page_view", path=path, time=time, country=country)
    segment(rule("contact_field", field="email", operator="contains", value="example.com"), slug="known")
    # Two runs due now on a campaign that adds points, then tags, then waits a day.
    welcome = factories.campaign(name="welcome")
    factories.chain(
        welcome, ("action", {"action": "change_points", "points": 5}),
        ("action", {"action": "add_tags", "tags": ["welcomed"]}), ("wait", {"days": 1}),
    )
    for contact in (ann, bob):
        factories.run(welcome, contact)
    return {"segment": pricing.pk, "contacts": [ann.pk, bob.pk]}


def outcome() -> dict:
    """What an editor could see, by natural keys (ids differ between the copies)."""
    name = dict(Contact.objects.values_list("pk", "first_name"))
    position = ProcessingPosition.objects.filter(name=POSITION_NAME).values_list("position", flat=True).first()
    return {
        "contacts": sorted(
            (c.first_name, c.last_seen, c.country, name.get(c.merged_into_id), c.points)
            for c in Contact.objects.all()
        ),
        "events": Counter((name[e.contact_id], e.kind, e.path) for e in Event.objects.all()),
        # The events written by the first run (segment_entered) are new events for a second.
        "page views read": None if position is None else Event.objects.filter(id__lte=position, kind="page_view").count(),
        "memberships": sorted(
            (m.segment.slug, name[m.contact_id], m.source, m.excluded)
            for s in Segment.objects.all() for m in s.memberships.all()
        ),
        "member counts": sorted(Segment.objects.values_list("slug", "member_count")),
        "daily counts": sorted(SegmentDailyCount.objects.values_list("segment__slug", "date", "count")),
        "tags": sorted((name[t.content_object_id], t.tag.name) for t in TaggedContact.objects.all()),
        "runs": sorted(
            (name[r.contact_id], r.state, r.step.kind if r.step else None, r.logs.count()) for r in Run.objects.all()
        ),
    }


def fresh_scenario() -> dict:
    Contact.objects.all().delete()
    Campaign.objects.all().delete()
    Segment.objects.all().delete()
    ProcessingPosition.objects.all().delete()
    return scenario()


def twice(task, *args) -> None:
    if connection.vendor != "postgresql":
        task(*args)
        task(*args)
        return
    start, errors = threading.Barrier(2), []

    def run():
        try:
            start.wait()
            task(*args)
        except Exception as error:  # noqa: BLE001  (reported below)
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


TASKS = {
    "wagtail_segments.contacts.tasks.process_new_events": lambda ids: (),
    "wagtail_segments.contacts.tasks.follow_new_events": lambda ids: (0,),
    "wagtail_segments.contacts.tasks.prune_old_data": lambda ids: (),
    "wagtail_segments.segments.tasks.rebuild_segment_by_id": lambda ids: (ids["segment"],),
    "wagtail_segments.segments.tasks.rebuild_all_segments": lambda ids: (),
    "wagtail_segments.segments.tasks.evaluate_contacts_task": lambda ids: (ids["contacts"],),
    "wagtail_segments.segments.tasks.record_daily_counts": lambda ids: (),
    "wagtail_segments.campaigns.tasks.run_due_campaign_steps": lambda ids: (0,),
}


def test_every_task_the_app_queues_or_schedules_is_covered():
    # Tasks are queued (async_task, enqueue) and scheduled by their dotted name.
    named = {
        match for path in PACKAGE.rglob("*.py")
        for match in re.findall(r"[\"'](wagtail_segments\.[\w.]*tasks\.\w+)[\"']", path.read_text())
    }
    assert {spec["func"] for spec in SCHEDULES} <= named
    assert named <= set(TASKS)


@pytest.mark.parametrize("name", sorted(TASKS))
def test_running_a_task_twice_gives_the_same_outcome_as_once(name):
    task = import_string(name)
    ids = fresh_scenario()
    task(*TASKS[name](ids))
    once = outcome()
    ids = fresh_scenario()
    twice(task, *TASKS[name](ids))
    assert outcome() == once
