"""Adding and removing contacts by hand, by import, by API or by a campaign.

Such rows are *sticky*: rebuilds keep them. Removing a contact from a dynamic segment keeps
an excluded row, so the rules cannot bring the contact back until someone adds it by hand.
Any number of contacts may be passed: they are written in batches.
"""

from __future__ import annotations

from typing import Iterable, Iterator

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from wagtail_segments.contacts.models import Contact

from .evaluation import _lock, record_changes
from .models import Membership, Segment

BATCH = 5_000


def contact_id_batches(contacts, size: int = BATCH) -> Iterator[list[int]]:
    """Ids from a queryset, Contact objects or ids, ``size`` at a time, without loading them all."""
    if isinstance(contacts, QuerySet):
        last = 0
        ids = contacts.order_by("pk").values_list("pk", flat=True)
        while True:
            batch = list(ids.filter(pk__gt=last)[:size])
            if not batch:
                return
            yield batch
            last = batch[-1]
    batch: list[int] = []
    for item in contacts:
        batch.append(item.pk if isinstance(item, Contact) else int(item))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def add_contacts(segment: Segment, contacts: Iterable, source: str = Membership.Source.MANUAL) -> int:
    """Make the contacts members, sticky; returns how many were not members before."""
    added = 0
    for batch in contact_id_batches(contacts):
        with transaction.atomic():
            locked = _lock(segment)
            rows = {
                cid: (row_source, excluded)
                for cid, row_source, excluded in Membership.objects.filter(
                    segment=locked, contact_id__in=batch
                ).values_list("contact_id", "source", "excluded")
            }
            live = set(Contact.objects.filter(pk__in=batch, merged_into__isnull=True).values_list("pk", flat=True))
            new = [cid for cid in batch if cid in live and cid not in rows]
            reinstated = [cid for cid, (_s, excluded) in rows.items() if excluded and cid in live]
            now = timezone.now()
            Membership.objects.bulk_create(
                [Membership(segment=locked, contact_id=cid, source=source, added_at=now) for cid in new]
            )
            Membership.objects.filter(segment=locked, contact_id__in=reinstated).update(
                excluded=False, source=source, added_at=now
            )
            # Rule rows become sticky: a contact added by hand stays when the rules stop matching.
            Membership.objects.filter(
                segment=locked, contact_id__in=batch, source=Membership.Source.RULE
            ).update(source=source)
            entered = sorted({*new, *reinstated})
            _record(locked, entered, [], source)
            added += len(entered)
    return added


def remove_contacts(segment: Segment, contacts: Iterable, source: str = Membership.Source.MANUAL) -> int:
    """End the contacts' membership; returns how many were members."""
    removed = 0
    for batch in contact_id_batches(contacts):
        with transaction.atomic():
            locked = _lock(segment)
            memberships = Membership.objects.filter(segment=locked, contact_id__in=batch)
            members = sorted(memberships.filter(excluded=False).values_list("contact_id", flat=True))
            if locked.is_dynamic:
                memberships.update(excluded=True, source=source)
                have = set(memberships.values_list("contact_id", flat=True))
                missing = Contact.objects.filter(pk__in=[cid for cid in batch if cid not in have])
                Membership.objects.bulk_create(
                    [Membership(segment=locked, contact_id=cid, source=source, excluded=True)
                     for cid in missing.values_list("pk", flat=True)]
                )
            else:
                memberships.delete()
            _record(locked, [], members, source)
            removed += len(members)
    return removed


def _record(segment: Segment, entered: list[int], left: list[int], source: str) -> None:
    record_changes(segment, entered, left, source)
