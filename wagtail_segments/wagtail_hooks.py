from wagtail import hooks

from .tracking.pages import track_page_view

# Above Wagtail's own view-restriction wrapper (order 0), so it runs inside it.
hooks.register("on_serve_page", track_page_view, order=100)

from .admin import menu  # noqa: E402,F401  (registers the Marketing menu)
