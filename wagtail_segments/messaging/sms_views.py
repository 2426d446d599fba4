"""The public view a provider calls with the texts contacts send to the site's number.

``POST <include>/sms/inbound/<token>/`` (a secret token in the URL, checked by the
backend's ``verify_inbound`` against ``SMS_INBOUND_TOKEN``) or ``POST
<include>/sms/inbound/`` (for backends that check the provider's signature instead).
CSRF-exempt: the provider has no CSRF cookie; the token or signature is the check.

Answers, each with a plain-text reason: 405 to anything but POST; 404 when the site's
backend does not receive texts; 400 for a request larger than ``SMS_INBOUND_MAX_BYTES`` or
one the backend cannot read; 403 for a missing or wrong token or signature. Nothing is
recorded unless all of that passed; then every text is recorded in one transaction, and the
answer is the backend's ``inbound_response`` (200), the same whether or not a number was
known, so that providers do not retry and nobody learns who is a contact.
"""

from __future__ import annotations

import logging

from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from wagtail_segments.conf import settings as conf

from .sms import get_backend
from .sms_receiving import receive_sms

logger = logging.getLogger(__name__)


def _refused(reason: str, status: int) -> HttpResponse:
    logger.warning("Inbound SMS request refused (%s): %s", status, reason)
    return HttpResponse(reason, status=status, content_type="text/plain; charset=utf-8")


@csrf_exempt
@never_cache
def sms_inbound(request: HttpRequest, token: str = "") -> HttpResponse:
    if request.method != "POST":
        response = _refused(_("Only POST is accepted."), 405)
        response["Allow"] = "POST"
        return response
    backend = get_backend()
    if not backend.receives_texts:
        return _refused(_("This site's SMS backend does not receive texts."), 404)
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _refused(_("Bad Content-Length."), 400)
    too_large = _("The request is too large: at most %(n)s bytes.") % {"n": conf.SMS_INBOUND_MAX_BYTES}
    if declared > conf.SMS_INBOUND_MAX_BYTES:
        return _refused(too_large, 400)
    try:
        # Read once, within Django's own limit: under ASGI a body sent without a length
        # has been read already, so its size is checked again here.
        if len(request.body) > conf.SMS_INBOUND_MAX_BYTES:
            return _refused(too_large, 400)
    except SuspiciousOperation:
        return _refused(too_large, 400)
    if not backend.verify_inbound(request, token):
        return _refused(_("The token or signature is not valid."), 403)
    try:
        messages = backend.parse_inbound(request)
    except (ValueError, SuspiciousOperation, MultiPartParserError) as error:
        return _refused(_("The request cannot be read as texts: %(error)s") % {"error": error}, 400)
    receive_sms(messages)
    return backend.inbound_response(request, messages)
