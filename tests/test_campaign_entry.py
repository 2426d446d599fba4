"""Contacts enter campaigns by segment entry or by enrolment, within the re-entry policy."""

import datetime

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from tests import factories
from tests.segment_helpers import rule, segment
from wagtail_segments.campaigns import entry
from wagtail_segments.campaigns.entry import enrol
from wagtail_segments.campaigns.models import Run
from wagtail_segments.contacts.identity import merge_contacts
from wagtail_segments.segments.evaluation import evaluate_contacts
from wagtail_segments.segments.manual import add_contacts

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued_tasks(monkeypatch):
    calls = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda func, *args, **kwargs: calls.append(func))
    return calls


def runs_of(campaign):
    return list(Run.objects.filter(campaign=campaign).values_list("contact_id", "state"))


def test_entering_the_entry_segment_starts_a_run_on_the_first_step(queued_tasks, django_capture_on_commit_callbacks):
    members = segment(kind="static", build=False)
    campaign = factories.campaign(entry_segment=members)
    first, _wait = factories.chain(campaign, ("action", {"action": "add_tags", "tags": ["hi"]}), ("wait", {"days": 1}))
    contact = factories.contact()

    with django_capture_on_commit_callbacks(execute=True):
        add_contacts(members, [contact])

    run = Run.objects.get(campaign=campaign)
    assert (run.contact_id, run.state, run.step_id, run.source) == (contact.pk, "active", first.pk, "segment")
    assert run.next_due_at <= timezone.now()
    assert queued_tasks == ["wagtail_segments.campaigns.tasks.run_due_campaign_steps"]


def test_a_segments_first_build_does_not_enrol_those_already_matching(queued_tasks, django_capture_on_commit_callbacks):
    early = factories.contact(first_name="Vera")
    vips = segment(rule("contact_field", field="first_name", operator="eq", value="Vera"), build=False)
    campaign = factories.campaign(entry_segment=vips)
    factories.chain(campaign, ("wait", {"days": 1}))
    from wagtail_segments.segments.evaluation import rebuild_segment

    with django_capture_on_commit_callbacks(execute=True):
        rebuild_segment(vips)
    assert runs_of(campaign) == []

    later = factories.contact(first_name="Vera")
    with django_capture_on_commit_callbacks(execute=True):
        evaluate_contacts([later.pk])
    assert runs_of(campaign) == [(later.pk, "waiting")]
    assert early.pk in set(vips.members().values_list("pk", flat=True))


@pytest.mark.parametrize("fields", [
    {"status": "draft"}, {"status": "paused"}, {"status": "finished"},
    {"starts_at": timezone.now() + datetime.timedelta(days=1)},
    {"ends_at": timezone.now() - datetime.timedelta(days=1)},
])
def test_only_an_active_campaign_inside_its_dates_enrols(fields):
    campaign = factories.campaign(**{"status": "active", **fields})
    factories.chain(campaign, ("wait", {"days": 1}))
    assert enrol(campaign, [factories.contact()]) == 0
    assert runs_of(campaign) == []


def test_enrolment_by_hand_takes_a_queryset_objects_or_ids_and_skips_merged_contacts():
    campaign = factories.campaign()
    factories.chain(campaign, ("wait", {"days": 1}))
    ann, bob, gone = factories.contact(email="ann@example.com"), factories.contact(), factories.contact()
    merge_contacts(gone, bob)
    assert enrol(campaign, [ann, bob.pk, gone.pk], source="manual") == 2
    assert sorted(runs_of(campaign)) == sorted([(ann.pk, "waiting"), (bob.pk, "waiting")])


def test_once_means_never_again_after_finishing():
    campaign = factories.campaign(reentry="once")
    factories.chain(campaign, ("wait", {"days": 1}))
    contact = factories.contact()
    assert enrol(campaign, [contact]) == 1
    Run.objects.filter(campaign=campaign).update(state="completed")
    assert enrol(campaign, [contact]) == 0


def test_after_finishing_allows_a_new_run_only_once_the_last_ended():
    campaign = factories.campaign(reentry="after_finishing")
    factories.chain(campaign, ("wait", {"days": 1}))
    contact = factories.contact()
    assert enrol(campaign, [contact]) == 1
    assert enrol(campaign, [contact]) == 0
    Run.objects.filter(campaign=campaign).update(state="left")
    assert enrol(campaign, [contact]) == 1
    assert Run.objects.filter(campaign=campaign).count() == 2


def test_after_days_counts_from_the_last_entry():
    campaign = factories.campaign(reentry="after_days", reentry_days=7)
    factories.chain(campaign, ("wait", {"days": 1}))
    contact = factories.contact()
    enrol(campaign, [contact])
    Run.objects.filter(campaign=campaign).update(state="completed", entered_at=timezone.now() - datetime.timedelta(days=6))
    assert enrol(campaign, [contact]) == 0
    Run.objects.filter(campaign=campaign).update(entered_at=timezone.now() - datetime.timedelta(days=8))
    assert enrol(campaign, [contact]) == 1


def test_the_database_allows_one_live_run_per_campaign_and_contact():
    campaign = factories.campaign()
    contact = factories.contact()
    factories.run(campaign, contact)
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.run(campaign, contact)
    factories.run(campaign, contact, state="completed")  # ended runs are history: any number


def test_a_concurrent_enrolment_that_loses_the_race_is_already_in(monkeypatch):
    campaign = factories.campaign(reentry="after_finishing")
    factories.chain(campaign, ("wait", {"days": 1}))
    contact = factories.contact()
    assert enrol(campaign, [contact]) == 1
    # As if the other enrolment committed between this one's policy check and its insert.
    monkeypatch.setattr(entry, "excluded_by_reentry", lambda *args: set())
    assert enrol(campaign, [contact, factories.contact()]) == 1
    assert Run.objects.filter(campaign=campaign, contact=contact).count() == 1


def test_submitting_the_entry_form_enters_through_the_pass_over_new_events():
    from wagtail_segments.contacts.tasks import process_new_events

    form, other_form = factories.form_page(), factories.form_page("Other")
    campaign = factories.campaign(entry_form=form)
    factories.chain(campaign, ("wait", {"days": 1}))
    subscriber, stranger = factories.contact(), factories.contact()
    factories.event(subscriber, "form_submission", page=form)
    factories.event(stranger, "form_submission", page=other_form)
    process_new_events()
    assert [(contact_id, run.source) for contact_id, run in
            ((r.contact_id, r) for r in Run.objects.filter(campaign=campaign))] == [(subscriber.pk, "form")]


def test_a_form_submitted_before_the_campaign_was_activated_does_not_enrol():
    """The pass also reads old events (a history import, a worker that was stopped for a
    while): the welcome campaign activated today must not greet last year's subscribers."""
    import datetime

    from django.utils import timezone

    from wagtail_segments.campaigns.lifecycle import activate
    from wagtail_segments.contacts.tasks import process_new_events

    form = factories.form_page()
    campaign = factories.campaign(status="draft", entry_form=form)
    factories.chain(campaign, ("wait", {"days": 1}))
    old, new = factories.contact(), factories.contact()
    factories.event(old, "form_submission", page=form, time=timezone.now() - datetime.timedelta(days=200))
    activate(campaign)
    factories.event(new, "form_submission", page=form)
    process_new_events()
    assert [contact_id for contact_id, _ in runs_of(campaign)] == [new.pk]


def test_visiting_the_entry_page_or_a_page_under_it_enters():
    from wagtail_segments.contacts.models import Event
    from wagtail_segments.campaigns.entry import enter_from_events

    section = factories.section_page("Products")
    inside, outside = factories.content_page("Widget", parent=section), factories.content_page("About")
    exact = factories.campaign(entry_page=section)
    under = factories.campaign(entry_page=section, entry_page_descendants=True)
    for campaign in (exact, under):
        factories.chain(campaign, ("wait", {"days": 1}))
    on_section, on_child, elsewhere = factories.contact(), factories.contact(), factories.contact()
    factories.event(on_section, "page_view", page=section)
    factories.event(on_child, "page_view", page=inside)
    factories.event(elsewhere, "page_view", page=outside)

    assert enter_from_events(Event.objects.all(), {"page_view"}) == 3
    assert [c for c, _ in runs_of(exact)] == [on_section.pk]
    assert sorted(c for c, _ in runs_of(under)) == sorted([on_section.pk, on_child.pk])


def test_a_batch_with_neither_forms_nor_page_views_asks_nothing(django_assert_num_queries):
    from wagtail_segments.contacts.models import Event
    from wagtail_segments.campaigns.entry import enter_from_events

    factories.campaign(entry_page=factories.content_page())
    with django_assert_num_queries(0):
        assert enter_from_events(Event.objects.all(), {"login", "segment_entered"}) == 0


def test_adding_the_entry_tag_enters_in_any_case(django_capture_on_commit_callbacks):
    campaign = factories.campaign(entry_tag="VIP")
    factories.chain(campaign, ("wait", {"days": 1}))
    vip, other = factories.contact(), factories.contact()
    with django_capture_on_commit_callbacks(execute=True):
        vip.tags.add("vip")
        other.tags.add("regular")
    assert [(c, source) for c, source in Run.objects.filter(campaign=campaign).values_list("contact_id", "source")] == [
        (vip.pk, "tag")]


def test_a_segment_as_source_enrols_its_members_on_activation_then_whoever_joins(django_capture_on_commit_callbacks):
    from wagtail_segments.campaigns.lifecycle import activate

    members = segment(kind="static", build=False)
    early, late = factories.contact(), factories.contact()
    add_contacts(members, [early])
    campaign = factories.campaign(status="draft", entry_segment=members, entry_segment_members=True)
    factories.chain(campaign, ("wait", {"days": 1}))

    assert activate(campaign) == 1
    with django_capture_on_commit_callbacks(execute=True):
        add_contacts(members, [late])
    assert sorted(Run.objects.filter(campaign=campaign).values_list("contact_id", flat=True)) == [early.pk, late.pk]


def test_turns_18_enters_on_the_birthday_in_the_sites_time_zone_once(settings, django_capture_on_commit_callbacks):
    """The recipe of docs/campaigns.md: a date property, "turns 18 today", "enters segment"."""
    from zoneinfo import ZoneInfo

    from wagtail_segments.contacts.models import PropertyDefinition
    from wagtail_segments.segments.evaluation import rebuild_segment

    settings.TIME_ZONE = "Pacific/Auckland"  # UTC+12 in June: the local day starts the UTC day before
    PropertyDefinition.objects.create(key="birthday", label="Birthday", type="date")
    adult = factories.contact(properties={"birthday": "2008-06-15"})
    turns_18 = segment(rule("date", field="properties.birthday", operator="age_is", number=18), build=False)
    campaign = factories.campaign(entry_segment=turns_18, reentry="once")
    factories.chain(campaign, ("action", {"action": "add_tags", "tags": ["happy 18"]}))
    local = ZoneInfo("Pacific/Auckland")

    def rebuild_at(*wall):
        turns_18.refresh_from_db()  # the scheduled rebuild reads the segment afresh each day
        with django_capture_on_commit_callbacks(execute=True):
            rebuild_segment(turns_18, now=datetime.datetime(*wall, tzinfo=local))
        return sorted(Run.objects.filter(campaign=campaign).values_list("contact_id", flat=True))

    assert rebuild_at(2026, 6, 13, 12, 0) == []  # the first build (nobody matches)
    assert rebuild_at(2026, 6, 14, 23, 59) == []  # one minute before the day here: not yet
    assert rebuild_at(2026, 6, 15, 0, 5) == [adult.pk]  # 12:05 UTC on the 14th: the birthday here
    assert rebuild_at(2026, 6, 15, 18, 0) == [adult.pk]  # later that day: still one run
    assert rebuild_at(2026, 6, 16, 0, 5) == [adult.pk]  # it leaves the segment the next day
    assert rebuild_at(2027, 6, 15, 0, 5) == [adult.pk]  # turning 19 is not turning 18
