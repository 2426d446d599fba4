from django.core.management.base import BaseCommand

from wagtail_segments.contacts.lookup import contacts_by_email
from wagtail_segments.segments.manual import remove_contacts
from wagtail_segments.segments.models import Membership

from .add_to_segment import add_segment_arguments, email_list, get_segment, read_emails


class Command(BaseCommand):
    help = (
        "Remove contacts, by email, from a segment. In a dynamic segment they stay excluded, so the "
        "rules cannot bring them back until someone adds them again."
    )

    def add_arguments(self, parser):
        add_segment_arguments(parser, "The source recorded on the exclusion and the event (default: manual).")

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
            self.stdout.write(email_list("No contact with these emails", missing))
