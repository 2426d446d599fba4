"""Tagging contacts in bulk: one insert, and one m2m_changed for the whole set, naming only
the contacts that did not have the tag; untagging in bulk: one delete between pre_remove and
post_remove, naming only the contacts that had it."""

import pytest
from django.db import connection
from django.db.models.signals import m2m_changed
from django.test.utils import CaptureQueriesContext

from tests import factories
from wagtail_segments.contacts.models import Contact, ContactTag, TaggedContact
from wagtail_segments.contacts.tagging import announce_pairs_added, tag_contacts, untag_contacts

pytestmark = pytest.mark.django_db


@pytest.fixture
def heard():
    signals = []

    def receiver(sender, **kwargs):
        signals.append(kwargs)

    m2m_changed.connect(receiver, sender=TaggedContact, dispatch_uid="test-tagging")
    yield signals
    m2m_changed.disconnect(sender=TaggedContact, dispatch_uid="test-tagging")


def test_tag_contacts_adds_the_tag_where_missing_and_announces_those_contacts_once(heard):
    tag = ContactTag.objects.create(name="Trade fair")
    had, new1, new2 = (factories.contact() for _ in range(3))
    had.tags.add(tag)
    heard.clear()

    added = tag_contacts(tag, [had.pk, new1.pk, new2.pk])

    assert added == sorted([new1.pk, new2.pk])
    assert set(TaggedContact.objects.filter(tag=tag).values_list("content_object_id", flat=True)) == {
        had.pk, new1.pk, new2.pk}
    [signal] = heard
    assert (signal["instance"], signal["action"], signal["reverse"], signal["model"]) == (
        tag, "post_add", True, Contact)
    assert signal["pk_set"] == {new1.pk, new2.pk}


def test_the_cost_does_not_grow_with_the_number_of_contacts(heard):
    tag = ContactTag.objects.create(name="Fair")
    few, many = [factories.contact() for _ in range(2)], [factories.contact() for _ in range(40)]

    with CaptureQueriesContext(connection) as for_few:
        tag_contacts(tag, [c.pk for c in few])
    with CaptureQueriesContext(connection) as for_many:
        tag_contacts(tag, [c.pk for c in many])

    assert len(for_many) == len(for_few) and len(heard) == 2


def test_nothing_is_announced_when_everyone_had_the_tag(heard):
    tag = ContactTag.objects.create(name="Fair")
    contact = factories.contact()
    contact.tags.add(tag)
    heard.clear()

    assert tag_contacts(tag, [contact.pk]) == []
    assert heard == []


def test_pairs_are_announced_one_signal_per_tag(heard):
    a, b = ContactTag.objects.create(name="A"), ContactTag.objects.create(name="B")
    x, y = factories.contact(), factories.contact()

    announce_pairs_added([(x.pk, a.pk), (y.pk, a.pk), (y.pk, b.pk)])

    assert sorted((s["instance"].name, sorted(s["pk_set"])) for s in heard) == [
        ("A", sorted([x.pk, y.pk])), ("B", [y.pk])]


def test_untag_contacts_removes_the_tag_and_announces_those_that_had_it_as_tags_remove_does(heard):
    tag, other = ContactTag.objects.create(name="Trade fair"), ContactTag.objects.create(name="Lead")
    had1, had2, never = (factories.contact() for _ in range(3))
    for contact in (had1, had2):
        contact.tags.add(tag, other)
    heard.clear()

    removed = untag_contacts(tag, [had1.pk, had2.pk, never.pk])

    assert removed == sorted([had1.pk, had2.pk])
    assert not TaggedContact.objects.filter(tag=tag).exists()
    assert TaggedContact.objects.filter(tag=other).count() == 2
    assert [(s["instance"], s["action"], s["reverse"], s["model"], s["pk_set"]) for s in heard] == [
        (tag, "pre_remove", True, Contact, {had1.pk, had2.pk}),
        (tag, "post_remove", True, Contact, {had1.pk, had2.pk}),
    ]


def test_untagging_costs_the_same_for_many_contacts_and_is_silent_when_no_one_had_the_tag(heard):
    tag = ContactTag.objects.create(name="Fair")
    few, many = [factories.contact() for _ in range(2)], [factories.contact() for _ in range(40)]
    tag_contacts(tag, [c.pk for c in few + many])
    heard.clear()

    with CaptureQueriesContext(connection) as for_few:
        untag_contacts(tag, [c.pk for c in few])
    with CaptureQueriesContext(connection) as for_many:
        untag_contacts(tag, [c.pk for c in many])
    assert len(for_many) == len(for_few) and len(heard) == 4

    heard.clear()
    assert untag_contacts(tag, [c.pk for c in few]) == []
    assert heard == []
