"""The request being handled, for code that Django or Wagtail calls without one
(the ``post_save`` of a form submission)."""

from contextvars import ContextVar

current_request: ContextVar = ContextVar("wagtail_segments_request", default=None)
