from django.core.management.base import BaseCommand

from wagtail_segments.conf import settings as conf
from wagtail_segments.contacts.models import Contact
from wagtail_segments.contacts.phone import renormalise_phones


class Command(BaseCommand):
    help = (
        "Read every contact's phone again in E.164 (the number inbound texts are matched by), "
        "with the current SMS_DEFAULT_REGION. Run it after changing that setting: until then a "
        "number typed without +country is matched as the old region read it. One transaction "
        "per batch of contacts; safe to stop and run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=2000, help="Contacts per transaction (default: 2000).")

    def handle(self, *args, batch_size, **options):
        changed = renormalise_phones(Contact.objects.all(), batch_size=batch_size)
        region = conf.SMS_DEFAULT_REGION or "none"
        self.stdout.write(f"{changed} contact(s) changed (default region: {region}).")
