"""The one piece of tracking that sits on every request: it answers the beacon, makes the
request visible to form and login handlers, and writes the contact cookie when it changed
(and the staff flag, when the request loaded the user). It reads nothing from the database."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers

from wagtail_segments.conf import settings as conf
from wagtail_segments.contacts.identity import apply_contact_cookie
from wagtail_segments.contacts.request_state import request_state

from .beacon import beacon_view
from .context import current_request
from .staff import apply_staff_flag


class TrackingMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info == conf.BEACON_PATH:
            response = beacon_view(request)
        else:
            token = current_request.set(request)
            try:
                response = self.get_response(request)
            finally:
                current_request.reset(token)
            if request_state(request).personalised:
                # The page differs by visitor: shared caches must key it on the cookie.
                patch_vary_headers(response, ["Cookie"])
        return apply_staff_flag(request, apply_contact_cookie(request, response))
