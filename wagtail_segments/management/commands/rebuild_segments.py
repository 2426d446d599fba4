from django.core.management.base import BaseCommand, CommandError

from wagtail_segments.segments.evaluation import rebuild_segment
from wagtail_segments.segments.models import Segment


class Command(BaseCommand):
    help = (
        "Re-evaluate dynamic segments against every contact now (what the scheduled rebuild does): "
        "the given segments, or every active dynamic segment. Prints who entered and left, and the time taken."
    )

    def add_arguments(self, parser):
        parser.add_argument("--segment", action="append", default=[], metavar="SLUG",
                            help="Rebuild only this segment (repeat for several).")

    def handle(self, *args, segment=(), **options):
        if segment:
            segments = []
            for slug in segment:
                found = Segment.objects.filter(slug=slug).first()
                if found is None:
                    raise CommandError(f"No segment with the slug {slug!r}.")
                segments.append(found)
        else:
            segments = list(Segment.objects.active().dynamic())
            if not segments:
                self.stdout.write("No active dynamic segment to rebuild.")
        for item in segments:
            outcome = rebuild_segment(item)
            note = ""
            if not item.is_dynamic:
                note = " (static: members recounted only)"
            elif not item.active:
                note = " (inactive: members recounted only)"
            self.stdout.write(
                f"{item.slug}: {outcome.entered} entered, {outcome.left} left, {item.member_count} members, "
                f"{item.last_rebuild_seconds or 0:.2f} s{note}"
            )
            for problem in outcome.problems:
                self.stdout.write(f"  problem: {problem}")
