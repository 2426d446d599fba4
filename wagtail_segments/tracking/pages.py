"""Page views of Wagtail pages, from an ``on_serve_page`` wrapper.

Registered with an order above Wagtail's view-restriction check (order 0), so it runs inside
that check: a visitor who only gets the password or login prompt is not counted.
"""

from __future__ import annotations

from django.templatetags.static import static
from django.utils.html import format_html

from wagtail_segments.conf import settings as conf

from .beacon import sign_page_id
from .recorder import record_page_view


def beacon_tag(page_id: int | None) -> str:
    return format_html(
        '<script src="{}" data-endpoint="{}" data-page="{}" data-pageview="{}" defer></script>',
        static("wagtail_segments/beacon.js"),
        conf.BEACON_PATH,
        sign_page_id(page_id) if page_id else "",
        "1" if conf.PAGE_VIEWS == "beacon" else "0",
    )


def inject_beacon(response, page_id: int | None):
    """Put the beacon's script tag before </body> of an HTML response, once rendered."""

    def insert(rendered):
        content = rendered.content
        marker = content.rfind(b"</body>")
        if marker != -1:
            rendered.content = content[:marker] + beacon_tag(page_id).encode() + content[marker:]
        return rendered

    if hasattr(response, "add_post_render_callback") and not response.is_rendered:
        response.add_post_render_callback(insert)
    elif not getattr(response, "streaming", False):
        insert(response)
    return response


def track_page_view(serve):
    def inner(page, request, serve_args, serve_kwargs):
        response = serve(page, request, serve_args, serve_kwargs)
        if request.method != "GET" or response.status_code != 200:
            return response
        if conf.PAGE_VIEWS == "server":
            record_page_view(request, page)
        if conf.INJECT_BEACON and "html" in response.get("Content-Type", ""):
            inject_beacon(response, page.pk)
        return response

    return inner
