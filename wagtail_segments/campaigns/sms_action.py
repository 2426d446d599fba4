"""The ``send_sms`` action: ``{"action": "send_sms", "message": <SmsMessage id>}``.

Not transactional: the text leaves the site, so the engine logs the step before sending and
never sends it twice. A contact without a valid phone, who opted out, or (marketing texts)
over ``SMS_FREQUENCY_CAP`` is skipped (the delivery and the step's result say why) and the
run goes on; a backend failure is retried with the engine's back-off. Marketing texts wait
for the campaign's send window, as emails do.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .actions import Action


def _message(config: dict):
    from wagtail_segments.messaging.models import SmsMessage

    try:
        return SmsMessage.objects.filter(pk=int(config.get("message"))).first()
    except (TypeError, ValueError):
        return None


class SendSms(Action):
    name = "send_sms"
    label = gettext_lazy("Send an SMS")

    def problems(self, config):
        from wagtail_segments.messaging.merge import merge_field_problems

        message = _message(config)
        if message is None:
            return [_("The SMS message to send (id %(id)s) does not exist.") % {"id": config.get("message")}]
        return merge_field_problems(message.body)

    def deferred_until(self, run, config, now):
        """Marketing texts wait for the campaign's send window, as emails do."""
        from .email_action import marketing_deferral

        return marketing_deferral(run, _message(config), now)

    def execute(self, run, config):
        from wagtail_segments.contacts.models import Contact
        from wagtail_segments.messaging.sms_sending import send_sms

        message = _message(config)
        if message is None:
            raise LookupError(_("The SMS message to send (id %(id)s) does not exist.") % {"id": config.get("message")})
        contact = Contact.objects.select_related("company").get(pk=run.contact_id)  # fresh opt-out and phone
        delivery = send_sms(message, contact, campaign_id=run.campaign_id, run_id=run.pk, step_key=run.step.key)
        result = {"delivery": delivery.pk, "status": delivery.status}
        if delivery.reason:
            result["reason"] = delivery.reason
        return result
