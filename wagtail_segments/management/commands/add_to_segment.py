import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email
from django.db import transaction

from wagtail_segments.contacts.lookup import contacts_by_email
from wagtail_segments.contacts.models import Contact
from wagtail_segments.segments.manual import add_contacts
from wagtail_segments.segments.models import Membership, Segment


def read_emails(emails: list[str], path: str | None) -> list[str]:
    """The emails given as arguments and, with --file, one per line of a file (- for stdin)."""
    found = [email for email in emails if email.strip()]
    if path:
        handle = sys.stdin if path == "-" else open(path, encoding="utf-8-sig")
        try:
            found.extend(line.strip() for line in handle if line.strip())
        finally:
            if handle is not sys.stdin:
                handle.close()
    return found


SHOWN_EMAILS = 50


def add_segment_arguments(parser, source_help: str) -> None:
    """The arguments this command shares with remove_from_segment: the segment, the emails and
    where they come from, and the source recorded."""
    parser.add_argument("slug", help="The segment's slug.")
    parser.add_argument("emails", nargs="*", metavar="EMAIL")
    parser.add_argument("--file", metavar="FILE", help="Also read emails from this file, one per line (- for stdin).")
    parser.add_argument("--source", default=Membership.Source.MANUAL, choices=Membership.Source.values,
                        help=source_help)


def email_list(label: str, emails: list[str]) -> str:
    """``label`` and the first emails, for the command's output."""
    shown = ", ".join(emails[:SHOWN_EMAILS]) + (" …" if len(emails) > SHOWN_EMAILS else "")
    return f"{label} ({len(emails)}): {shown}"


def get_segment(slug: str) -> Segment:
    segment = Segment.objects.filter(slug=slug).first()
    if segment is None:
        raise CommandError(f"No segment with the slug {slug!r}.")
    return segment


class Command(BaseCommand):
    help = (
        "Add contacts, by email, to a segment as sticky members (rebuilds keep them; a contact "
        "excluded by hand is included again). Any number of emails: they are written in batches."
    )

    def add_arguments(self, parser):
        add_segment_arguments(parser, "The membership source to record (default: manual).")
        parser.add_argument("--create", action="store_true", help="Create a contact for an email no contact has.")

    def handle(self, *args, slug, emails=(), file=None, create=False, source=Membership.Source.MANUAL, **options):
        segment = get_segment(slug)
        ids, missing = contacts_by_email(read_emails(list(emails), file))
        created = 0
        invalid = []
        if create and missing:
            with transaction.atomic():
                for email in missing:
                    try:
                        validate_email(email)
                    except ValidationError:
                        invalid.append(email)
                        continue
                    ids.append(Contact.objects.create(email=email).pk)
                    created += 1
            missing = invalid
        added = add_contacts(segment, ids, source=source)
        segment.refresh_from_db(fields=["member_count"])
        self.stdout.write(
            f"{added} added to “{segment.name}” ({len(ids) - added} already members); "
            f"{created} contacts created; {segment.member_count} members now."
        )
        if missing:
            label = "Not valid emails" if create else "No contact with these emails"
            self.stdout.write(email_list(label, missing))
