from django.core.management.base import BaseCommand, CommandError

from wagtail_segments.privacy import erase_contact, find_contact


class Command(BaseCommand):
    help = (
        "Delete everything held about one contact, in one transaction. Only the hash of its "
        "address stays on the suppression list when it had unsubscribed, bounced or complained."
    )

    def add_arguments(self, parser):
        parser.add_argument("contact", help="The contact's email, public id (UUID) or database id.")
        parser.add_argument("--yes", action="store_true", help="Do not ask for confirmation.")

    def handle(self, *args, contact, yes=False, **options):
        found = find_contact(contact)
        if found is None:
            raise CommandError(f"No contact {contact!r}.")
        if not yes:
            if not self.stdin_is_interactive():
                raise CommandError("Erasing cannot be undone: pass --yes to confirm.")
            answer = input(f"Erase {found} and everything held about it? This cannot be undone. Type 'yes': ")
            if answer.strip().lower() != "yes":
                raise CommandError("Nothing erased.")
        counts = erase_contact(found)
        summary = ", ".join(f"{count} {name}" for name, count in sorted(counts.items()) if count)
        self.stdout.write(f"Erased {found}: {summary}.")

    @staticmethod
    def stdin_is_interactive() -> bool:
        import sys

        return sys.stdin.isatty()
