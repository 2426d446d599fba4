"""Contacts entering campaigns: by segment entry, a form, a page visit or a tag, by hand,
by API or by another campaign.

Triggers are checked where the news arrives, for the campaigns whose trigger matches it
only: a batch of the pass over new events (forms, page visits), a segment entry, a tag.
No task per event: entering wakes the engine once.

The re-entry policy is checked first, and the database has the last word: one live run per
(campaign, contact) is a conditional unique constraint, so an enrolment that loses a race
with another one finds the contact "already in", not an error.
"""

from __future__ import annotations

import datetime
from typing import Iterable

import swapper
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from wagtail_segments.contacts.models import Contact, EventKind
from wagtail_segments.segments.manual import contact_id_batches

from .models import Campaign, Run
from .steps import StepKind, arrival, step_kind
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
    kind = step_kind(first) if first is not None else None
    per_contact = kind is not None and type(kind).arrive is not StepKind.arrive
    entered = 0
    for batch in contact_id_batches(contacts, BATCH):
        live = set(Contact.objects.live().filter(pk__in=batch).values_list("pk", flat=True))
        wanted = sorted(live - excluded_by_reentry(campaign, batch, now))
        placed = arrival(first, now)
        with transaction.atomic():
            for contact_id in wanted:
                run = Run(campaign=campaign, contact_id=contact_id, source=source, entered_at=now)
                # A first step that looks at the contact (a decision) places each run itself.
                for name, value in (arrival(first, now, run) if per_contact else placed).items():
                    setattr(run, name, value)
                try:
                    with transaction.atomic():
                        run.save(force_insert=True)
                except IntegrityError:
                    continue  # a live run exists: entered concurrently, so "already in"
                entered += 1
    if entered:
        wake_engine()
    return entered


def enter_from_events(events: QuerySet, kinds) -> int:
    """A batch of the pass over new events: contacts who submitted a campaign's entry form,
    or visited its entry page (or a page under it), enter it. One query for the campaigns
    with such a trigger, one per matching campaign; none when the batch has neither kind."""
    kinds = set(kinds)
    forms, views = EventKind.FORM_SUBMISSION.value in kinds, EventKind.PAGE_VIEW.value in kinds
    if not (forms or views):
        return 0
    wanted = Q()
    if forms:
        wanted |= Q(entry_form__isnull=False)
    if views:
        wanted |= Q(entry_page__isnull=False)
    entered = 0
    for campaign in Campaign.objects.enrolling().filter(wanted).select_related("entry_page"):
        # Only what happened since the campaign took contacts: the pass also reads old events
        # (an import of history, a worker that was stopped), and those must not enrol anyone.
        since = [moment for moment in (campaign.activated_at, campaign.starts_at) if moment]
        recent = events.filter(time__gte=max(since)) if since else events
        if forms and campaign.entry_form_id:
            submitted = recent.filter(kind=EventKind.FORM_SUBMISSION, page_id=campaign.entry_form_id)
            entered += enrol(campaign, _contact_ids(submitted), source="form")
        if views and campaign.entry_page_id:
            visited = recent.filter(kind=EventKind.PAGE_VIEW, page_id__in=entry_pages(campaign))
            entered += enrol(campaign, _contact_ids(visited), source="page")
    return entered


def _contact_ids(events: QuerySet) -> list[int]:
    return sorted(set(events.values_list("contact_id", flat=True)))


def entry_pages(campaign: Campaign) -> list[int]:
    """The entry page, and every page under it when the campaign says so."""
    if not campaign.entry_page_descendants:
        return [campaign.entry_page_id]
    Page = swapper.load_model("wagtailcore", "Page")
    return list(Page.objects.filter(path__startswith=campaign.entry_page.path).values_list("pk", flat=True))


def enter_from_tags(contact_ids, names) -> int:
    """Contacts were given tags: they enter the campaigns entered by one of those tags."""
    names = {str(name).strip() for name in names if str(name).strip()}
    if not names:
        return 0
    matching = Q()
    for name in names:
        matching |= Q(entry_tag__iexact=name)
    return sum(enrol(campaign, list(contact_ids), source="tag")
               for campaign in Campaign.objects.enrolling().exclude(entry_tag="").filter(matching))


def enrol_segment_members(campaign: Campaign) -> int:
    """Segment as source: the entry segment's current members enter (when activated)."""
    if campaign.entry_segment_id is None:
        return 0
    return enrol(campaign, campaign.entry_segment.members(), source="segment")
