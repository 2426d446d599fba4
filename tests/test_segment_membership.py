"""Stored memberships: rule rows, sticky manual includes and excludes, signals and events."""

import pytest

from tests import factories
from tests.segment_helpers import members, rule, segment
from wagtail_segments.contacts.identity import merge_contacts
from wagtail_segments.models import Event, Membership, Segment
from wagtail_segments.segments.evaluation import evaluate_contacts, rebuild_segment
from wagtail_segments.segments.manual import add_contacts, remove_contacts
from wagtail_segments.signals import segment_entered, segment_left

pytestmark = pytest.mark.django_db


@pytest.fixture
def signals():
    received = []

    def entered(sender, segment, contact_ids, source, initial, **kwargs):
        received.append(("entered", segment.slug, sorted(contact_ids), source, initial))

    def left(sender, segment, contact_ids, source, **kwargs):
        received.append(("left", segment.slug, sorted(contact_ids), source))

    segment_entered.connect(entered)
    segment_left.connect(left)
    yield received
    segment_entered.disconnect(entered)
    segment_left.disconnect(left)


def test_contacts_enter_and_leave_with_signals_and_timeline_events(signals, django_capture_on_commit_callbacks):
    vip, other = factories.contact(), factories.contact()
    vip.tags.add("vip")
    with django_capture_on_commit_callbacks(execute=True):
        seg = segment(rule("tags", tags="vip"), slug="vips")
    assert members(seg) == {vip.pk}
    assert signals == [("entered", "vips", [vip.pk], "rule", True)]
    signals.clear()

    other.tags.add("vip")
    vip.tags.remove("vip")
    with django_capture_on_commit_callbacks(execute=True):
        evaluate_contacts([vip.pk, other.pk], {"tags"})
    assert members(seg) == {other.pk}
    assert ("entered", "vips", [other.pk], "rule", False) in signals
    assert ("left", "vips", [vip.pk], "rule") in signals
    assert Event.objects.filter(contact=vip, kind="segment_left", data__segment="vips").exists()
    assert Event.objects.filter(contact=other, kind="segment_entered", data__initial=False).exists()
    seg.refresh_from_db()
    assert seg.member_count == 1 and seg.last_rebuilt_at and seg.last_rebuild_seconds is not None


def test_manual_includes_and_excludes_survive_every_rebuild():
    vip, added, removed = factories.contact(), factories.contact(), factories.contact()
    vip.tags.add("vip")
    removed.tags.add("vip")
    seg = segment(rule("tags", tags="vip"))
    assert members(seg) == {vip.pk, removed.pk}

    add_contacts(seg, [added])
    remove_contacts(seg, [removed])
    rebuild_segment(seg)
    evaluate_contacts([vip.pk, added.pk, removed.pk])
    assert members(seg) == {vip.pk, added.pk}
    # Removed by hand stays out until added by hand, whatever the rules say.
    add_contacts(seg, [removed])
    rebuild_segment(seg)
    assert members(seg) == {vip.pk, added.pk, removed.pk}
    # A rule member added by hand becomes sticky and stays when the rule stops matching.
    add_contacts(seg, [vip])
    vip.tags.remove("vip")
    rebuild_segment(seg)
    assert vip.pk in members(seg)
    seg.refresh_from_db()
    assert seg.member_count == 3


def test_a_static_segment_ignores_rules_and_keeps_its_list():
    listed, tagged = factories.contact(), factories.contact()
    tagged.tags.add("vip")
    seg = segment(rule("tags", tags="vip"), kind="static")
    assert members(seg) == set()
    assert add_contacts(seg, [listed.pk], source=Membership.Source.API) == 1
    rebuild_segment(seg)
    assert members(seg) == {listed.pk}
    assert remove_contacts(seg, [listed]) == 1
    assert not Membership.objects.filter(segment=seg).exists()


def test_merging_contacts_moves_memberships_to_the_survivor():
    seg = segment(kind="static")
    known, anonymous = factories.contact(email="k@example.com"), factories.contact()
    add_contacts(seg, [anonymous])
    merge_contacts(anonymous, known)
    assert members(seg) == {known.pk}


def test_an_inactive_segment_is_not_rebuilt():
    vip = factories.contact()
    vip.tags.add("vip")
    seg = segment(rule("tags", tags="vip"), active=False)
    assert members(seg) == set()


def test_saving_a_segment_queues_its_rebuild_after_commit(monkeypatch, django_capture_on_commit_callbacks):
    calls = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda func, *args, **kwargs: calls.append((func, args)))
    with django_capture_on_commit_callbacks(execute=True):
        seg = Segment.objects.create(name="New", slug="new", rules=[rule("tags", tags="x")])
    assert ("wagtail_segments.segments.tasks.rebuild_segment_by_id", (seg.pk,)) in calls


def test_rebuilds_run_in_id_batches_with_the_same_result():
    contacts = [factories.contact(points=i) for i in range(25)]
    small = segment(rule("points", operator="gte", points=10), build=False)
    rebuild_segment(small, chunk_size=4)
    assert members(small) == {c.pk for c in contacts if c.points >= 10}


def test_the_signals_source_is_a_plain_string_on_every_path(signals, django_capture_on_commit_callbacks):
    """Rules, a hand edit, an import and the command line all give receivers one type: a
    ``str`` holding a ``Membership.Source`` value, never an enum member on some paths."""
    import io

    from django.core.management import call_command

    from wagtail_segments.segments.importing import import_contacts

    ann = factories.contact(email="ann@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        ruled = segment(rule("contact_field", field="email", operator="eq", value="ann@example.com"))
        static = segment(kind="static", slug="static")
        add_contacts(static, [ann.pk])
        remove_contacts(static, [ann.pk])
        import_contacts(io.BytesIO(b"email\nbob@example.com\n"), segment=static)
        call_command("add_to_segment", "static", "ann@example.com", "--source", "api", stdout=io.StringIO())
    sources = [(change[0], change[1], change[3]) for change in signals]
    assert sources == [
        ("entered", ruled.slug, "rule"), ("entered", "static", "manual"), ("left", "static", "manual"),
        ("entered", "static", "import"), ("entered", "static", "api"),
    ]
    assert all(type(change[3]) is str for change in signals)


def test_a_second_rebuild_through_the_same_object_is_not_a_first_build(signals, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        seg = segment(rule("tags", tags="vip"), slug="vips")
    assert seg.last_rebuilt_at is not None
    newcomer = factories.contact()
    newcomer.tags.add("vip")
    signals.clear()
    with django_capture_on_commit_callbacks(execute=True):
        rebuild_segment(seg)
    assert signals == [("entered", "vips", [newcomer.pk], "rule", False)]
