"""The django-q2 schedules the app needs, created idempotently after ``migrate``."""

from __future__ import annotations

from django.utils import timezone

from .conf import settings as conf

SCHEDULES = [
    {
        "name": "wagtail_segments: process new events",
        "func": "wagtail_segments.contacts.tasks.process_new_events",
        "schedule_type": "I",  # minutes; the request path also queues this within seconds
        "minutes": 1,
    },
    {
        "name": "wagtail_segments: rebuild segments",
        "func": "wagtail_segments.segments.tasks.rebuild_all_segments",
        "schedule_type": "I",
        "minutes": "SEGMENT_REBUILD_MINUTES",
    },
    {
        "name": "wagtail_segments: daily segment counts",
        "func": "wagtail_segments.segments.tasks.record_daily_counts",
        "schedule_type": "D",
    },
    {
        "name": "wagtail_segments: campaign steps",
        "func": "wagtail_segments.campaigns.tasks.run_due_campaign_steps",
        "schedule_type": "I",  # starts a loop that acts on due runs for most of the minute
        "minutes": 1,
    },
    {
        "name": "wagtail_segments: retention",
        "func": "wagtail_segments.contacts.tasks.prune_old_data",
        "schedule_type": "D",
    },
]


def ensure_schedules(**kwargs) -> None:
    """Create or update the app's schedules; keeps their next run and leaves others alone."""
    from django_q.models import Schedule

    for spec in SCHEDULES:
        defaults = {k: v for k, v in spec.items() if k != "name"}
        if isinstance(defaults.get("minutes"), str):
            defaults["minutes"] = int(getattr(conf, defaults["minutes"]))
        defaults["repeats"] = -1
        schedule, created = Schedule.objects.get_or_create(
            name=spec["name"], defaults={**defaults, "next_run": timezone.now()}
        )
        if not created:
            changed = [k for k, v in defaults.items() if getattr(schedule, k) != v]
            if changed:
                for key in changed:
                    setattr(schedule, key, defaults[key])
                schedule.save(update_fields=changed)
