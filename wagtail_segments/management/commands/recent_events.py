"""``manage.py recent_events [-n 20]``: the last events recorded, newest first, to see
tracking work while trying the app by hand (docs/installation.md, "See it work")."""

from django.core.management.base import BaseCommand
from django.utils import timezone

from wagtail_segments.contacts.models import Event

NOTHING_YET = (
    "No events recorded yet. Bots (curl, python-requests, headless browsers, an empty user agent), "
    "logged-in staff and browsers that send Do Not Track are not tracked: visit the site in a "
    "private window of an ordinary browser."
)


class Command(BaseCommand):
    help = "Show the last events recorded, newest first, with their contact and path."

    def add_arguments(self, parser):
        parser.add_argument("-n", "--number", type=int, default=20, help="How many events (20).")

    def handle(self, *args, number: int = 20, **options):
        events = list(Event.objects.select_related("contact").order_by("-id")[: max(number, 0)])
        if not events:
            self.stdout.write(NOTHING_YET)
        for event in events:
            contact = event.contact.email or "anonymous"
            self.stdout.write(
                f"{timezone.localtime(event.time):%Y-%m-%d %H:%M:%S}  {event.kind:<16} "
                f"contact {event.contact_id} ({contact})  {event.path}"
            )
