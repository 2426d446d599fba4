import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from wagtail_segments.segments.importing import import_contacts
from wagtail_segments.segments.models import Membership, Segment


def parse_mapping(pairs: list[str]) -> dict[str, str | None]:
    """["Vorname=first_name", "Notes="] -> {"Vorname": "first_name", "Notes": None}."""
    mapping: dict[str, str | None] = {}
    for pair in pairs:
        header, sep, target = pair.rpartition("=")
        if not sep or not header.strip():
            raise CommandError(f"--map needs HEADER=TARGET, not {pair!r}.")
        mapping[header.strip()] = target.strip() or None
    return mapping


class Command(BaseCommand):
    help = (
        "Create or update contacts from a CSV file (deduplicated by email) and optionally add them "
        "to a segment. Prints a report; rows with errors are listed and skipped, the others imported. "
        "Exits with status 1 when no row could be imported."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The CSV file (UTF-8, comma or semicolon separated); - reads standard input.")
        parser.add_argument("--segment", metavar="SLUG", help="Add every imported contact to this segment.")
        parser.add_argument(
            "--map", action="append", default=[], metavar="HEADER=TARGET",
            help="Map a column to email, first_name, last_name, phone, company, country, tags, points "
                 "or properties.<key>; HEADER= ignores the column. Repeat for several columns.",
        )
        parser.add_argument("--no-update", action="store_true",
                            help="Leave contacts that already exist as they are (they are still added to the segment).")
        parser.add_argument("--source", default=Membership.Source.IMPORT, choices=Membership.Source.values,
                            help="The membership source recorded for the segment (default: import).")
        parser.add_argument("--delimiter", choices=[",", ";", "tab"], help="Do not detect the delimiter: use this one.")
        parser.add_argument("--dry-run", action="store_true", help="Check the file and report, but save nothing.")

    def handle(self, *args, file, segment=None, map=(), no_update=False, source=Membership.Source.IMPORT,
               delimiter=None, dry_run=False, **options):
        target = None
        if segment:
            target = Segment.objects.filter(slug=segment).first()
            if target is None:
                raise CommandError(f"No segment with the slug {segment!r}.")
        if file == "-":
            handle = sys.stdin.buffer
        else:
            handle = Path(file)
            if not handle.is_file():
                raise CommandError(f"No such file: {file}")
        verbose = options.get("verbosity", 1) >= 2

        def progress(report):
            if verbose:
                self.stderr.write(f"… {report.rows} rows read")

        try:
            report = import_contacts(
                handle, segment=target, mapping=parse_mapping(list(map)), source=source,
                update_existing=not no_update, dry_run=dry_run,
                delimiter="\t" if delimiter == "tab" else delimiter, progress=progress,
            )
        except ValueError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(report.as_text())
        if report.failed:
            raise CommandError("No row was imported.")
