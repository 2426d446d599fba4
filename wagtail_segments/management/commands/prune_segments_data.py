from django.core.management.base import BaseCommand

from wagtail_segments.contacts.tasks import prune_old_data


class Command(BaseCommand):
    help = "Delete events older than RETENTION_DAYS and anonymous contacts inactive for as long."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, help="Override WAGTAIL_SEGMENTS['RETENTION_DAYS'].")

    def handle(self, *args, days=None, **options):
        result = prune_old_data(days=days)
        self.stdout.write(f"Deleted {result['events']} events and {result['contacts']} contacts.")
