from django.core.management.base import BaseCommand

from wagtail_segments.contacts.lookup import contacts_by_email
from wagtail_segments.segments.manual import remove_contacts
from wagtail_segments.segments.models import Membership

from .add_to_segment import get_segment, read_emails


class Command(BaseCommand):
    help = (
        "Remove contacts, by email, from a segment. In a dynamic segment they stay excluded, so the "
        "rules cannot bring them back until someone adds them again."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="The segment's slug.")
        parser.add_argument("emails", nargs="*", metavar="EMAIL")
        parser.add_argument("--file", metavar="FILE", help="Also read emails from this file, one per line (- for stdin).")
        parser.add_argument("--source", default=Membership.Source.MANUAL, choices=Membership.Source.values,
                            help="The source recorded on the exclusion and the event (default: manual).")

    def handle(self, *args, slug, emails=(), file=None, source=Membership.Source.MANUAL, **options):
        segment = get_segment(slug)
        ids, missing = contacts_by_email(read_emails(list(emails), file))
        removed = remove_contacts(segment, ids, source=source)
        segment.refresh_from_db(fields=["member_count"])
        self.stdout.write(
            f"{removed} removed from “{segment.name}” ({len(ids) - removed} were not members); "
            f"{segment.member_count} members now."
        )
        if missing:
            self.stdout.write(f"No contact with these emails ({len(missing)}): " + ", ".join(missing[:50])
                              + (" …" if len(missing) > 50 else ""))
