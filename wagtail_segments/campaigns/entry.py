"""Contacts entering campaigns: by segment entry, by hand, by API or by another campaign.

The re-entry policy is checked first, and the database has the last word: one live run per
(campaign, contact) is a conditional unique constraint, so an enrolment that loses a race
with another one finds the contact "already in", not an error.
"""

from __future__ import annotations

import datetime
from typing import Iterable

from django.db import IntegrityError, transaction
from django.utils import timezone

from wagtail_segments.contacts.models import Contact
from wagtail_segments.segments.manual import contact_id_batches

from .models import Campaign, Run
from .steps import arrival
from .wakeup import wake_engine

BATCH = 500


def excluded_by_reentry(campaign: Campaign, contact_ids: list[int], now: datetime.datetime) -> set[int]:
    """The contacts the campaign's re-entry policy keeps out now."""
    runs = Run.objects.filter(campaign=campaign, contact_id__in=contact_ids)
    if campaign.reentry == Campaign.Reentry.AFTER_DAYS:
        since = now - datetime.timedelta(days=campaign.reentry_days or 0)
        runs = runs.filter(entered_at__gt=since) | runs.live()
    elif campaign.reentry == Campaign.Reentry.AFTER_FINISHING:
        runs = runs.live()
    return set(runs.values_list("contact_id", flat=True))


def enrol(campaign: Campaign, contacts: Iterable, source: str = "api") -> int:
    """Start a run for each contact the campaign takes now; returns how many entered.

    ``contacts`` may be a queryset, Contact objects or ids. Only an active campaign inside its
    start and end takes contacts; merged-away contacts never enter. The engine is woken
    when the transaction commits.
    """
    now = timezone.now()
    if not Campaign.objects.enrolling(now).filter(pk=campaign.pk).exists():
        return 0
    first = campaign.first_step()
    entered = 0
    for batch in contact_id_batches(contacts, BATCH):
        live = set(Contact.objects.live().filter(pk__in=batch).values_list("pk", flat=True))
        wanted = sorted(live - excluded_by_reentry(campaign, batch, now))
        placed = arrival(first, now)
        with transaction.atomic():
            for contact_id in wanted:
                try:
                    with transaction.atomic():
                        Run.objects.create(campaign=campaign, contact_id=contact_id, source=source,
                                           entered_at=now, **placed)
                except IntegrityError:
                    continue  # a live run exists: entered concurrently, so "already in"
                entered += 1
    if entered:
        wake_engine()
    return entered
