"""How news reaches the segments engine: new events, changed contacts and tags, merges, and
saved segments. Each queues work for a task; none evaluates rules in the request."""

from __future__ import annotations

import logging
import threading

from django.db import transaction

from wagtail_segments.contacts.models import Contact
from wagtail_segments.segments.models import Membership

from .tasks import enqueue

logger = logging.getLogger(__name__)
_pending = threading.local()


def mark_contacts_changed(contact_ids, reason: str) -> None:
    """Re-evaluate these contacts after commit. Changes made in one transaction share one task:
    the first commit callback to run takes the whole buffer, later ones find it empty. Each
    call registers its own callback, so a rolled-back savepoint cannot strand the buffer."""
    buffer = getattr(_pending, "buffer", None)
    if buffer is None:
        buffer = _pending.buffer = {"ids": set(), "reasons": set()}
    buffer["ids"].update(contact_ids)
    buffer["reasons"].add(reason)
    transaction.on_commit(_flush)


def _flush() -> None:
    buffer = getattr(_pending, "buffer", None)
    _pending.buffer = None
    if not buffer or not buffer["ids"]:
        return
    from django_q.tasks import async_task

    try:
        async_task(
            "wagtail_segments.segments.tasks.evaluate_contacts_task",
            sorted(buffer["ids"]), sorted(buffer["reasons"]), group="wagtail_segments",
        )
    except Exception:  # the scheduled rebuild catches up; the change itself is saved
        logger.exception("Could not queue the re-evaluation of %s contacts.", len(buffer["ids"]))


def on_events_processed(sender, events, contact_ids, kinds, **kwargs) -> None:
    from .evaluation import evaluate_new_events

    evaluate_new_events(events, contact_ids, kinds)


def on_contact_saved(sender, instance, created: bool, raw: bool = False, update_fields=None, **kwargs) -> None:
    if raw or created or instance.merged_into_id:
        return
    mark_contacts_changed([instance.pk], "contact")


def on_tags_changed(sender, instance, action: str, **kwargs) -> None:
    if action in ("post_add", "post_remove", "post_clear") and isinstance(instance, Contact):
        mark_contacts_changed([instance.pk], "tags")


def on_contacts_merged(sender, source, into, **kwargs) -> None:
    """Memberships move to the survivor (its own rows win); a survivor excluded by hand stays excluded."""
    survivor_segments = set(Membership.objects.filter(contact=into).values_list("segment_id", flat=True))
    Membership.objects.filter(contact=source).exclude(segment_id__in=survivor_segments).update(contact=into)
    Membership.objects.filter(contact=source).delete()
    mark_contacts_changed([into.pk], "contact")


def on_segment_saved(sender, instance, raw: bool = False, **kwargs) -> None:
    if raw:
        return
    enqueue("wagtail_segments.segments.tasks.rebuild_segment_by_id", instance.pk)
