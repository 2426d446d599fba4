"""Decision steps: did the contact do X within a time of reaching the decision?

Settings: what the contact should do (``did``), what it concerns, and how long the run
waits for it (one of ``minutes``, ``hours``, ``days``, ``weeks``: the units of waits)::

    {"did": "opened", "message": 12, "days": 3}            # an email of this campaign
    {"did": "opened", "message": 12, "days": 3, "machine_opens": True}
    {"did": "clicked", "message": 12, "days": 3}
    {"did": "visited", "page": 7, "descendants": True, "days": 14}
    {"did": "submitted", "form": 9, "days": 14}
    {"did": "tagged", "tag": "customer", "days": 30}
    {"did": "entered_segment", "segment": 4, "days": 30}

What counts is what the contact did since the run reached the step before the decision
(``Run.previous_step_at``) until its time runs out. Three paths answer, and a
compare-and-set on the run lets exactly one of them move it:

- **on arrival** (steps.DecisionStep.arrive): done already, so the run is due at once and
  the engine takes the yes-branch;
- **by the event** (``answer_events``, ``answer_segment_entry``, ``answer_tags``): the pass
  over new events, a segment entry or a tag finds the runs waiting on matching decisions,
  for those contacts only, and moves them down the yes-branch at once, waking the engine;
- **on time-out**: the run waits with ``next_due_at`` at its deadline; the engine executes
  the step, looks once more (an event the pass has not read yet still counts), and takes the
  no-branch when nothing is found.

Tags have no event: "tagged" asks whether the contact has the tag when the run arrives,
when a tag is added while it waits, and when its time runs out.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from typing import Iterable

import swapper
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from wagtail_segments.contacts.models import Event, EventKind, TaggedContact

from .models import Campaign, Run, Step, StepLog
from .moving import move_run
from .timing import CALENDAR_UNITS, ELAPSED_UNITS, wait_ends_at
from .wakeup import wake_engine


# What a decision can ask, and the event kind that answers it ("tagged": none).
DID_EVENT = {
    "opened": EventKind.EMAIL_OPENED.value,
    "clicked": EventKind.EMAIL_CLICKED.value,
    "visited": EventKind.PAGE_VIEW.value,
    "submitted": EventKind.FORM_SUBMISSION.value,
    "entered_segment": EventKind.SEGMENT_ENTERED.value,
    "tagged": None,
}
EVENT_DID = {kind: did for did, kind in DID_EVENT.items() if kind}
LENGTH_UNITS = (*ELAPSED_UNITS, *CALENDAR_UNITS)


def _within(config: dict) -> dict:
    return {unit: config[unit] for unit in LENGTH_UNITS if config.get(unit) not in (None, "")}


def decision_deadline(config: dict, now: datetime.datetime) -> datetime.datetime:
    """When a run reaching the decision at ``now`` takes the no-branch."""
    return wait_ends_at(_within(config), now)


def _page_exists(page_id) -> bool:
    Page = swapper.load_model("wagtailcore", "Page")
    try:
        return Page.objects.filter(pk=int(page_id)).exists()
    except (TypeError, ValueError):
        return False


def decision_problems(config: dict) -> list[str]:
    """What is wrong with a decision's settings, naming what no longer exists."""
    from .steps import segment_problems

    did = config.get("did")
    if did not in DID_EVENT:
        return [_("Choose what the contact should do: open or click an email, visit a page, "
                  "submit a form, get a tag or enter a segment.")]
    problems = []
    within = _within(config)
    if len(within) != 1:
        problems.append(_("Say within how many minutes, hours, days or weeks."))
    else:
        ((unit, value),) = within.items()
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            problems.append(_("The number of %(unit)s must be a whole number, 0 or more.") % {"unit": unit})
    if did in ("opened", "clicked"):
        from wagtail_segments.messaging.models import EmailMessage

        message = config.get("message")
        if message in (None, ""):
            problems.append(_("Choose the email."))
        elif not EmailMessage.objects.filter(pk=message).exists():
            problems.append(_("The email it refers to (id %(id)s) no longer exists.") % {"id": message})
    elif did == "visited":
        if config.get("page") in (None, ""):
            problems.append(_("Choose the page or section."))
        elif not _page_exists(config["page"]):
            problems.append(_("The page it refers to (id %(id)s) no longer exists.") % {"id": config["page"]})
    elif did == "submitted":
        form = config.get("form")
        if form in (None, ""):
            problems.append(_("Choose the form."))
        elif not _page_exists(form):
            problems.append(_("The form it refers to (id %(id)s) no longer exists.") % {"id": form})
    elif did == "tagged":
        if not str(config.get("tag") or "").strip():
            problems.append(_("Give the tag."))
    elif did == "entered_segment":
        problems += segment_problems(config.get("segment"))
    return problems


def _pages(config: dict) -> list[int]:
    """The page, and the pages under it when the decision is about a section."""
    page_id = int(config["page"])
    if not config.get("descendants"):
        return [page_id]
    Page = swapper.load_model("wagtailcore", "Page")
    path = Page.objects.filter(pk=page_id).values_list("path", flat=True).first()
    if path is None:
        return [page_id]
    return list(Page.objects.filter(path__startswith=path).values_list("pk", flat=True))


def answering_events(config: dict, campaign_id: int) -> Q | None:
    """Which events answer the decision yes (a Q over Event), None for "tagged"."""
    did = config.get("did")
    kind = DID_EVENT.get(did)
    if kind is None:
        return None
    q = Q(kind=kind)
    if did in ("opened", "clicked"):
        q &= Q(data__campaign=campaign_id, data__message=int(config["message"]))
        if not config.get("machine_opens"):
            # Opens (and clicks) by mail-privacy proxies and scanners are not the contact's.
            q &= ~Q(data__machine=True)
    elif did == "visited":
        q &= Q(page_id__in=_pages(config))
    elif did == "submitted":
        q &= Q(page_id=int(config["form"]))
    elif did == "entered_segment":
        q &= Q(data__segment_id=int(config["segment"]))
    return q


def _has_tag(contact_ids: Iterable[int], tag: str) -> set[int]:
    return set(TaggedContact.objects.filter(
        content_object_id__in=list(contact_ids), tag__name__iexact=str(tag).strip(),
    ).values_list("content_object_id", flat=True))


def happened(config: dict, run: Run, since: datetime.datetime, until: datetime.datetime) -> bool:
    """Whether the contact of ``run`` did what the decision asks between ``since`` and
    ``until`` ("tagged": whether it has the tag now)."""
    if config.get("did") == "tagged":
        return bool(_has_tag([run.contact_id], config.get("tag") or ""))
    q = answering_events(config, run.campaign_id)
    if q is None:
        return False
    return Event.objects.filter(q, contact_id=run.contact_id, time__gte=since, time__lte=until).exists()


def waiting_runs(contact_ids: Iterable[int], dids: set[str]) -> list[Run]:
    """Live runs of active campaigns whose contacts are among ``contact_ids``, standing on a
    decision that asks one of ``dids``: one query, by the (contact, campaign) index."""
    runs = Run.objects.live().filter(
        contact_id__in=list(contact_ids), step__kind="decision", campaign__status=Campaign.Status.ACTIVE,
    ).select_related("step")
    return [run for run in runs if (run.step.config or {}).get("did") in dids]


def take_yes(run: Run, step: Step, result: dict) -> bool:
    """Move a run waiting on ``step`` down its yes-branch now (compare-and-set)."""
    return bool(take_yes_many(step, [(run, result)]))


def take_yes_many(step: Step, answered: list[tuple[Run, dict]]) -> int:
    """Move runs waiting on ``step`` down its yes-branch, each by compare-and-set, in one
    transaction with their step logs; returns how many moved (the others had moved first)."""
    from .steps import arrival

    if not answered:
        return 0
    yes = step.child(Step.Branch.YES)
    now = timezone.now()
    moved: list[tuple[Run, dict]] = []
    with transaction.atomic():
        for run, result in answered:
            fields = arrival(yes, now, run)
            fields["branches"] = {**(run.branches or {}), str(step.key): Step.Branch.YES}
            if move_run(run, fields):
                moved.append((run, {"branch": Step.Branch.YES, **result}))
        logs = [StepLog(run=run, step=step, state=StepLog.State.DONE, result=result, started_at=now, finished_at=now)
                for run, result in moved]
        StepLog.objects.bulk_create(logs, ignore_conflicts=True)
        # A log left by an earlier failed attempt at the step: it is done now.
        StepLog.objects.filter(run_id__in=[run.pk for run, _ in moved], step=step).exclude(
            state=StepLog.State.DONE).update(state=StepLog.State.DONE, result={"branch": Step.Branch.YES},
                                             error="", finished_at=now)
    return len(moved)


def counting_from(run: Run) -> datetime.datetime:
    """Since when what the contact does counts for the decision the run stands on: since it
    reached the step before (its entry, when the decision is the first step)."""
    return run.previous_step_at or run.reached_step_at or run.entered_at


def _window(run: Run) -> tuple[datetime.datetime, datetime.datetime | None]:
    return counting_from(run), run.next_due_at


def answer_events(events: QuerySet, contact_ids: Iterable[int], kinds: Iterable[str]) -> int:
    """A batch of the pass over new events: runs whose decision one of these events answers
    go down the yes-branch now. Returns how many moved. Costs nothing but a set test when no
    kind in the batch answers a decision, and one query when no run waits on one."""
    dids = {EVENT_DID[kind] for kind in kinds if kind in EVENT_DID}
    if not dids:
        return 0
    by_step: dict[int, list[Run]] = defaultdict(list)
    for run in waiting_runs(contact_ids, dids):
        by_step[run.step_id].append(run)
    moved = 0
    for runs in by_step.values():
        step = runs[0].step
        q = answering_events(step.config or {}, runs[0].campaign_id)
        times: dict[int, list[tuple[datetime.datetime, int]]] = defaultdict(list)
        found = events.filter(q, contact_id__in=[run.contact_id for run in runs])
        for contact_id, time, event_id in found.values_list("contact_id", "time", "pk"):
            times[contact_id].append((time, event_id))
        answered = []
        for run in runs:
            since, until = _window(run)
            answer = next((event_id for time, event_id in sorted(times[run.contact_id])
                           if time >= since and (until is None or time <= until)), None)
            if answer is not None:
                answered.append((run, {"by": "event", "event": answer}))
        moved += take_yes_many(step, answered)
    if moved:
        wake_engine()
    return moved


def _still_open(run: Run, now: datetime.datetime) -> bool:
    """Whether an answer arriving ``now`` is inside the run's window (its time-out has not
    come; when it has, the engine's last look decides)."""
    return run.next_due_at is None or now <= run.next_due_at


def answer_segment_entry(segment_id: int, contact_ids: Iterable[int]) -> int:
    """Contacts entered a segment: runs waiting on "entered this segment?" go down yes."""
    moved, now = 0, timezone.now()
    for run in waiting_runs(contact_ids, {"entered_segment"}):
        if str((run.step.config or {}).get("segment")) == str(segment_id) and _still_open(run, now):
            moved += take_yes(run, run.step, {"by": "segment", "segment": segment_id})
    if moved:
        wake_engine()
    return moved


def answer_tags(contact_ids: Iterable[int], names: Iterable[str]) -> int:
    """Contacts were given tags: runs waiting on "got this tag?" go down yes."""
    wanted = {str(name).strip().casefold() for name in names}
    moved, now = 0, timezone.now()
    for run in waiting_runs(contact_ids, {"tagged"}):
        tag = str((run.step.config or {}).get("tag") or "").strip()
        if tag.casefold() in wanted and _still_open(run, now):
            moved += take_yes(run, run.step, {"by": "tag", "tag": tag})
    if moved:
        wake_engine()
    return moved
