from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from wagtail_segments.segments.models import Segment
from wagtail_segments.segments.reminders import expired_count, expired_members


class Command(BaseCommand):
    help = (
        "Show each segment with a reminder period and how many of its members are expired "
        "(not touched within the period). With --list, show the expired members too."
    )

    def add_arguments(self, parser):
        parser.add_argument("--segment", metavar="SLUG", help="Only this segment.")
        parser.add_argument(
            "--list", action="store_true", dest="list_members",
            help="List the expired members: email or name, and days since the last touch.",
        )

    def handle(self, *args, segment=None, list_members=False, **options):
        now = timezone.now()
        if segment:
            found = Segment.objects.filter(slug=segment).first()
            if found is None:
                raise CommandError(f"No segment with the slug {segment!r}.")
            if not found.reminder_days:
                raise CommandError(f"The segment {segment!r} has no reminder period.")
            segments = [found]
        else:
            segments = Segment.objects.filter(reminder_days__gt=0).order_by("name", "pk")
        shown = 0
        for seg in segments:
            shown += 1
            count = expired_count(seg, now)
            automatic = "manual and automatic touchpoints" if seg.automatic_touchpoints_count else "manual touchpoints only"
            self.stdout.write(
                f"{seg.slug}: {count} expired of {seg.member_count} "
                f"(period {seg.reminder_days} days, {automatic})"
            )
            if list_members and count:
                for contact in expired_members(seg, now).iterator(chunk_size=2000):
                    label = contact.email or contact.full_name or str(contact)
                    days = (now - contact.period_start).days
                    if contact.last_touch is None:
                        since = f"{days} days, never touched"
                    elif contact.last_touch < contact.member_since:
                        since = f"{days} days, not touched since joining"
                    else:
                        since = f"{days} days since last touch"
                    self.stdout.write(f"  {label}\t{since}")
        if not shown:
            self.stdout.write("No segment has a reminder period.")
