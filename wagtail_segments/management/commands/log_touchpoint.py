from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from wagtail_segments.contacts.models import Contact, Touchpoint
from wagtail_segments.contacts.touchpoints import log_touchpoint


class Command(BaseCommand):
    help = (
        "Log a touchpoint on the contact with this email: a call, meeting or note (manual) or an "
        "email or sms (automatic). It restarts the contact's reminder period in its segments."
    )

    def add_arguments(self, parser):
        parser.add_argument("email", help="The contact's email address.")
        parser.add_argument("kind", choices=Touchpoint.Kind.values, help="The kind of touchpoint.")
        parser.add_argument("--note", default="", help="What was said or done.")
        parser.add_argument("--user", help="Username of the member of staff who logs it.")

    def handle(self, *args, email, kind, note="", user=None, **options):
        contact = Contact.objects.with_email(email).first()
        if contact is None:
            raise CommandError(f"No contact with the email {email!r}.")
        staff = None
        if user:
            User = get_user_model()
            try:
                staff = User.objects.get(**{User.USERNAME_FIELD: user})
            except User.DoesNotExist:
                raise CommandError(f"No user {user!r}.") from None
        try:
            touchpoint = log_touchpoint(contact, kind, note=note, user=staff)
        except ValueError as error:
            raise CommandError(str(error)) from None
        kind_label = "automatic" if touchpoint.automatic else "manual"
        self.stdout.write(
            f"Logged a {touchpoint.get_kind_display().lower()} ({kind_label}) for {touchpoint.contact} "
            f"at {touchpoint.time:%Y-%m-%d %H:%M}."
        )
