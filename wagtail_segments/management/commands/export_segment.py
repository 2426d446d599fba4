from django.core.management.base import BaseCommand, CommandError

from wagtail_segments.segments.exporting import export_members
from wagtail_segments.segments.models import Segment


class Command(BaseCommand):
    help = (
        "Write the members of a segment as CSV (email, names, phone, company, country, points, tags, "
        "every declared property, membership source and date) to a file or standard output."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="The segment's slug.")
        parser.add_argument("-o", "--output", metavar="FILE", help="Write to this file instead of standard output.")
        parser.add_argument("--bom", action="store_true", help="Start with a UTF-8 byte order mark (for Excel).")

    def handle(self, *args, slug, output=None, bom=False, **options):
        segment = Segment.objects.filter(slug=slug).first()
        if segment is None:
            raise CommandError(f"No segment with the slug {slug!r}.")
        if output:
            with open(output, "w", newline="", encoding="utf-8") as file:
                count = export_members(segment, file, bom=bom)
            self.stderr.write(f"Exported {count} members of “{segment.name}” to {output}.")
        else:
            self.stdout.ending = ""
            count = export_members(segment, self.stdout, bom=bom)
            if options.get("verbosity", 1) >= 2:
                self.stderr.write(f"Exported {count} members of “{segment.name}”.")
