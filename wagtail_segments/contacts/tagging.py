"""Tagging and untagging many contacts at once while telling whoever listens, as
``contact.tags.add()`` and ``contact.tags.remove()`` do.

``contact.tags.add(name)`` sends Django's ``m2m_changed`` (``post_add``): campaigns enrol the
contact where "tag T added" is the entry and answer decisions waiting for "got tag T?". A bulk
``TaggedContact`` insert (a CSV import, the listing's bulk action) sends nothing, so those
writers call ``announce_tags_added`` instead: one ``m2m_changed`` per tag, from the tag's side
of the relation (``instance`` the tag, ``reverse=True``, ``pk_set`` the contacts given it),
the shape Django uses when a relation is added from its other end. Receivers get the whole
set at once and act on it set-based, never once per contact. ``untag_contacts`` does the
same for a bulk delete: ``pre_remove`` before it and ``post_remove`` after, as
``contact.tags.remove()`` sends them, naming only the contacts that had the tag.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Collection, Iterable

from django.db import router, transaction
from django.db.models.signals import m2m_changed

from .models import Contact, ContactTag, TaggedContact


def _announce(tag: ContactTag, contact_ids: Collection[int], action: str) -> None:
    if contact_ids:
        m2m_changed.send(
            sender=TaggedContact, instance=tag, action=action, reverse=True, model=Contact,
            pk_set=set(contact_ids), using=router.db_for_write(TaggedContact),
        )


def announce_tags_added(tag: ContactTag, contact_ids: Collection[int]) -> None:
    """Send ``m2m_changed`` (``post_add``) for ``tag`` newly given to ``contact_ids``. Call it
    inside the transaction that wrote the rows: receivers that act do so after its commit."""
    _announce(tag, contact_ids, "post_add")


def announce_pairs_added(pairs: Iterable[tuple[int, int]]) -> None:
    """``announce_tags_added`` for (contact id, tag id) pairs just written: one signal per tag."""
    by_tag: dict[int, set[int]] = defaultdict(set)
    for contact_id, tag_id in pairs:
        by_tag[tag_id].add(contact_id)
    if not by_tag:
        return
    for tag in ContactTag.objects.filter(pk__in=by_tag).order_by("pk"):
        announce_tags_added(tag, by_tag[tag.pk])


def tag_contacts(tag: ContactTag, contact_ids: Collection[int]) -> list[int]:
    """Give ``tag`` to the contacts among ``contact_ids`` that lack it, in one insert, and
    announce them; returns their ids (the others already had it: nothing was added to them)."""
    with transaction.atomic():
        have = set(TaggedContact.objects.filter(tag=tag, content_object_id__in=list(contact_ids))
                   .values_list("content_object_id", flat=True))
        added = sorted(set(contact_ids) - have)
        TaggedContact.objects.bulk_create(
            [TaggedContact(tag=tag, content_object_id=pk) for pk in added], ignore_conflicts=True,
        )
        announce_tags_added(tag, added)
    return added


def untag_contacts(tag: ContactTag, contact_ids: Collection[int]) -> list[int]:
    """Take ``tag`` from the contacts among ``contact_ids`` that have it, in one delete, with
    ``pre_remove`` and ``post_remove`` around it; returns their ids."""
    with transaction.atomic():
        rows = TaggedContact.objects.filter(tag=tag, content_object_id__in=list(contact_ids))
        removed = sorted(set(rows.values_list("content_object_id", flat=True)))
        _announce(tag, removed, "pre_remove")
        if removed:
            TaggedContact.objects.filter(tag=tag, content_object_id__in=removed).delete()
        _announce(tag, removed, "post_remove")
    return removed
