from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WagtailSegmentsConfig(AppConfig):
    name = "wagtail_segments"
    label = "wagtail_segments"
    verbose_name = _("Marketing")
    default_auto_field = "django.db.models.AutoField"

    def ready(self) -> None:
        from django.apps import apps
        from django.contrib.auth.signals import user_logged_in
        from django.db.models.signals import post_migrate, post_save
        from wagtail.contrib.forms.models import AbstractFormSubmission

        from . import checks  # noqa: F401  (registers the system checks)
        from .schedules import ensure_schedules
        from .signals import event_recorded
        from .tracking.debug_log import log_recorded_event
        from .tracking.forms import on_form_submission_saved
        from .tracking.login import on_user_logged_in

        for model in apps.get_models():
            if issubclass(model, AbstractFormSubmission):
                post_save.connect(
                    on_form_submission_saved, sender=model,
                    dispatch_uid=f"wagtail_segments.form_submission.{model._meta.label_lower}",
                )
        user_logged_in.connect(on_user_logged_in, dispatch_uid="wagtail_segments.login")
        event_recorded.connect(log_recorded_event, dispatch_uid="wagtail_segments.debug_log")
        self.connect_segments()
        self.connect_messaging()
        self.connect_campaigns()
        post_migrate.connect(ensure_schedules, sender=self, dispatch_uid="wagtail_segments.schedules")

    def connect_segments(self) -> None:
        from django.db.models.signals import m2m_changed, post_save

        from .contacts.models import Contact, TaggedContact
        from .segments import receivers
        from .segments.importing import on_contacts_imported
        from .segments.models import Segment
        from .signals import contacts_imported, contacts_merged, events_processed

        uid = "wagtail_segments.segments."
        events_processed.connect(receivers.on_events_processed, dispatch_uid=uid + "events")
        post_save.connect(receivers.on_contact_saved, sender=Contact, dispatch_uid=uid + "contact")
        m2m_changed.connect(receivers.on_tags_changed, sender=TaggedContact, dispatch_uid=uid + "tags")
        contacts_merged.connect(receivers.on_contacts_merged, dispatch_uid=uid + "merged")
        contacts_imported.connect(on_contacts_imported, dispatch_uid=uid + "imported")
        post_save.connect(receivers.on_segment_saved, sender=Segment, dispatch_uid=uid + "saved")

    def connect_messaging(self) -> None:
        from django.db.models.signals import post_save

        from .contacts.models import Contact
        from .messaging import consent
        from .segments.rules import load_builtin_rules
        from .signals import contacts_imported, event_recorded

        uid = "wagtail_segments.messaging."
        post_save.connect(consent.on_contact_saved, sender=Contact, dispatch_uid=uid + "suppressed")
        contacts_imported.connect(consent.on_contacts_imported, dispatch_uid=uid + "imported")
        event_recorded.connect(consent.on_event_recorded, dispatch_uid=uid + "double_opt_in")
        load_builtin_rules()  # first, so that the editor lists the message rules after them
        from .messaging.rules import load_message_rules

        load_message_rules()
        try:
            from anymail.signals import tracking
        except ImportError:  # anymail is optional
            return
        from .messaging.providers import on_tracking_event

        tracking.connect(on_tracking_event, dispatch_uid=uid + "anymail")

    def connect_campaigns(self) -> None:
        from django.db.models.signals import m2m_changed

        from .campaigns import receivers
        from .contacts.models import TaggedContact
        from .signals import contacts_merged, events_processed, segment_entered

        uid = "wagtail_segments.campaigns."
        segment_entered.connect(receivers.on_segment_entered, dispatch_uid=uid + "entered")
        events_processed.connect(receivers.on_events_processed, dispatch_uid=uid + "events")
        m2m_changed.connect(receivers.on_tags_changed, sender=TaggedContact, dispatch_uid=uid + "tags")
        contacts_merged.connect(receivers.on_contacts_merged, dispatch_uid=uid + "merged")
