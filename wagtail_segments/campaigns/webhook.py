"""The ``webhook`` action: a JSON POST about the contact to another system.

``{"action": "webhook", "url": "https://crm.example.com/hooks/lead"}``, optionally with
``"secret_name"`` (a key of the ``WEBHOOK_SECRETS`` setting) or ``"secret"`` (the secret
itself); otherwise the ``WEBHOOK_SECRET`` setting signs. A step with no secret is refused.

The body::

    {"contact": {"id": "<uuid>", "email": ..., "first_name": ..., "last_name": ..., "phone": ...},
     "campaign": {"id": 3, "name": "Renewal"}, "step": {"key": "<uuid>", "name": "..."},
     "run": 42, "time": "2026-05-01T09:00:00+00:00"}

and the header ``X-Wagtail-Segments-Signature: sha256=<hex>``, the HMAC-SHA256 of the exact
body bytes with the secret; ``X-Wagtail-Segments-Idempotency-Key`` is the same for every
attempt of one (run, step), so the receiver can drop a repeat (a timeout after it answered).

Any answer but 2xx (redirects are not followed), a network error or no answer within
``WEBHOOK_TIMEOUT_SECONDS`` fails the attempt, and the engine retries with its back-off.
So does a host that resolves only to internal addresses (loopback, private, link-local…):
the call connects only to a public address it has checked (``public_http``), unless
``WEBHOOK_ALLOW_PRIVATE_ADDRESSES`` is set; a URL with an internal IP written in it is
refused when the step is checked.
Not transactional: after a worker crash mid-call the step is *unknown*, never repeated.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.parse
import urllib.request

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from wagtail_segments.conf import settings as conf

from .actions import Action
from .public_http import KINDS, InternalAddressRefused, literal_internal_kind, public_opener

SIGNATURE_HEADER = "X-Wagtail-Segments-Signature"
IDEMPOTENCY_HEADER = "X-Wagtail-Segments-Idempotency-Key"


class WebhookFailed(Exception):
    """The receiver did not take the call (status, network error or timeout)."""


def sign_body(body: bytes, secret: str) -> str:
    """The signature header's value: ``sha256=`` and the HMAC-SHA256 of ``body`` in hex.

    A receiver checks it with ``hmac.compare_digest`` against its own computation."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_secret(config: dict) -> str | None:
    if config.get("secret_name"):
        return (conf.WEBHOOK_SECRETS or {}).get(config["secret_name"]) or None
    return config.get("secret") or conf.WEBHOOK_SECRET or None


def webhook_body(run) -> dict:
    contact, step = run.contact, run.step
    return {
        "contact": {"id": str(contact.uuid), "email": contact.email, "first_name": contact.first_name,
                    "last_name": contact.last_name, "phone": contact.phone},
        "campaign": {"id": run.campaign_id, "name": run.campaign.name},
        "step": {"key": str(step.key), "name": step.name},
        "run": run.pk,
        "time": timezone.now().isoformat(),
    }


_opener = public_opener()


def refusal(url: str, error: InternalAddressRefused) -> str:
    return _("Refused to call %(url)s: %(reason)s Webhooks call only public addresses unless the "
             "WEBHOOK_ALLOW_PRIVATE_ADDRESSES setting allows internal ones.") % {"url": url, "reason": error}


class Webhook(Action):
    name = "webhook"
    label = gettext_lazy("Call a webhook")

    def problems(self, config):
        problems = []
        try:
            URLValidator(schemes=["http", "https"])(config.get("url") or "")
        except ValidationError:
            problems.append(_("“%(url)s” is not an http or https URL.") % {"url": config.get("url") or ""})
        else:
            kind = None if conf.WEBHOOK_ALLOW_PRIVATE_ADDRESSES else literal_internal_kind(
                urllib.parse.urlsplit(config["url"]).hostname or "")
            if kind:
                problems.append(_("“%(url)s” is an internal address (%(kind)s): webhooks call only public "
                                  "addresses unless the WEBHOOK_ALLOW_PRIVATE_ADDRESSES setting allows "
                                  "internal ones.") % {"url": config["url"], "kind": KINDS[kind]})
        if config.get("secret_name") and not (conf.WEBHOOK_SECRETS or {}).get(config["secret_name"]):
            problems.append(_("The secret “%(name)s” is not in the WEBHOOK_SECRETS setting.") % {
                "name": config["secret_name"]})
        elif not webhook_secret(config):
            problems.append(_("Webhooks are signed: give the step a secret or set WEBHOOK_SECRET."))
        return problems

    def execute(self, run, config):
        problems = self.problems(config)
        if problems:  # the settings changed since the campaign was checked
            raise WebhookFailed(" ".join(problems))
        body = json.dumps(webhook_body(run), separators=(",", ":"), sort_keys=True).encode()
        request = urllib.request.Request(config["url"], data=body, method="POST", headers={
            "Content-Type": "application/json",
            "User-Agent": "wagtail-segments webhook",
            SIGNATURE_HEADER: sign_body(body, webhook_secret(config)),
            IDEMPOTENCY_HEADER: f"{run.pk}:{run.step.key}",
        })
        try:
            with _opener.open(request, timeout=conf.WEBHOOK_TIMEOUT_SECONDS) as response:
                status = response.status
        except urllib.error.HTTPError as error:
            status = error.code
            error.close()
        except (urllib.error.URLError, OSError) as error:  # refused, DNS, timeout, internal address
            reason = getattr(error, "reason", error)
            if isinstance(reason, InternalAddressRefused):
                raise WebhookFailed(refusal(config["url"], reason)) from None
            raise WebhookFailed(_("No answer from %(url)s: %(reason)s") % {"url": config["url"], "reason": reason}) from None
        if not 200 <= status < 300:
            raise WebhookFailed(_("%(url)s answered %(status)s.") % {"url": config["url"], "status": status})
        return {"url": config["url"], "status": status}
