"""What moves campaigns from outside: segment entries (goals, decisions, entry), new events
(decisions, entry by form or page), tags (decisions, entry by tag) and contact merges.

Each receiver asks only for the runs and campaigns the news can concern (the contacts it
names, the campaigns whose trigger matches) and acts at once; none queues a task per event.
A receiver that fails logs and lets the sender go on: the engine's time-outs and the next
news still move runs.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import Count, F, Q

from wagtail_segments.contacts.models import Contact, ContactTag
from wagtail_segments.segments.models import Segment

from .decisions import answer_events, answer_segment_entry, answer_tags
from .entry import enrol, enter_from_events, enter_from_tags
from .executor import leave_live_run
from .models import Campaign, Run, Step, StepLog

logger = logging.getLogger(__name__)


def on_segment_entered(sender, segment: Segment, contact_ids: list[int], source: str,
                       initial: bool = False, **kwargs) -> None:
    """Goals first (a contact who reaches one leaves wherever it is), then entry. A segment's
    first build (``initial``) does not enrol everyone already matching; it does reach goals."""
    try:
        reach_goals(segment, contact_ids)
        answer_segment_entry(segment.pk, contact_ids)
        if not initial:
            for campaign in Campaign.objects.enrolling().filter(entry_segment=segment):
                enrol(campaign, contact_ids, source="segment")
    except Exception:
        # Sent after the segment's change committed: failing here must not fail the pass.
        logger.exception("Campaigns could not act on contacts entering segment %s", segment.pk)


def on_events_processed(sender, events, contact_ids, kinds, **kwargs) -> None:
    """A committed batch of the pass over new events: decisions it answers, then entries."""
    for act in (lambda: answer_events(events, contact_ids, kinds), lambda: enter_from_events(events, kinds)):
        try:
            act()
        except Exception:
            logger.exception("Campaigns could not act on a batch of new events")


def on_tags_changed(sender, instance, action: str, pk_set=None, **kwargs) -> None:
    """Tags added (from either side of the relation): after the commit, decisions waiting
    for one of them answer yes and campaigns entered by one of them enrol the contacts."""
    if action != "post_add" or not pk_set:
        return
    if isinstance(instance, Contact):
        contact_ids, names = [instance.pk], list(ContactTag.objects.filter(pk__in=pk_set).values_list("name", flat=True))
    elif isinstance(instance, ContactTag):
        contact_ids, names = sorted(pk_set), [instance.name]
    else:
        return

    def act():
        try:
            answer_tags(contact_ids, names)
            enter_from_tags(contact_ids, names)
        except Exception:
            logger.exception("Campaigns could not act on tags %s added to %s contacts", names, len(contact_ids))

    transaction.on_commit(act)


def goal_steps(segment: Segment):
    """The goal steps of campaigns with runs that entering ``segment`` ends."""
    return Step.objects.filter(
        Q(config__segment=segment.pk) | Q(config__segment=str(segment.pk)), kind="goal",
    ).exclude(campaign__status=Campaign.Status.DRAFT)


def reach_goals(segment: Segment, contact_ids: list[int]) -> int:
    """Live runs of those contacts in campaigns with this goal leave; returns how many."""
    left = 0
    for goal in goal_steps(segment):
        runs = Run.objects.live().filter(campaign_id=goal.campaign_id, contact_id__in=contact_ids)
        for run_id in runs.values_list("pk", flat=True):
            if leave_live_run(run_id):
                StepLog.objects.get_or_create(
                    run_id=run_id, step=goal,
                    defaults={"state": StepLog.State.DONE, "result": {"goal": segment.pk}},
                )
                left += 1
    return left


def on_contacts_merged(sender, source, into, **kwargs) -> None:
    """The survivor keeps, per campaign, the live run that is further along (more steps
    done; its own on a tie); the other ends as "merged" with its log. Every run of the
    merged-away contact moves to the survivor, so re-entry rules still see it."""
    theirs = Run.objects.live().filter(contact=source)
    ours = {run.campaign_id: run for run in _with_progress(Run.objects.live().filter(contact=into))}
    for run in _with_progress(theirs):
        other = ours.get(run.campaign_id)
        if other is None:
            continue
        loser = other if run.progress > other.progress else run
        leave_live_run(loser.pk, state=Run.State.MERGED)
    # A new version: a worker holding one of these runs stops at its next compare-and-set
    # instead of acting for the merged-away contact; the run is taken up when its lease ends.
    Run.objects.filter(contact=source).update(contact=into, version=F("version") + 1)


def _with_progress(runs):
    return runs.annotate(progress=Count("logs", filter=Q(logs__state=StepLog.State.DONE)))
