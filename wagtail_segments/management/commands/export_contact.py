import json

from django.core.management.base import BaseCommand, CommandError

from wagtail_segments.privacy import export_contact, find_contact


class Command(BaseCommand):
    help = (
        "Print everything held about one contact as JSON (fields, properties, tags, events, "
        "memberships, campaign runs, deliveries, consents, touchpoints): a subject access request."
    )

    def add_arguments(self, parser):
        parser.add_argument("contact", help="The contact's email, public id (UUID) or database id.")
        parser.add_argument("--output", help="Write the JSON to this file instead of standard output.")

    def handle(self, *args, contact, output=None, **options):
        found = find_contact(contact)
        if found is None:
            raise CommandError(f"No contact {contact!r}.")
        text = json.dumps(export_contact(found), indent=2, ensure_ascii=False)
        if output:
            with open(output, "w", encoding="utf-8") as target:
                target.write(text + "\n")
            self.stderr.write(f"Wrote the data of {found} to {output}.")
        else:
            self.stdout.write(text)
