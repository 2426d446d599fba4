"""wagtail-segments: contacts, events, segments and campaigns inside Wagtail."""

__version__ = "0.1.0"


def track(request_or_contact, kind, **data):
    """Record an event for a request's visitor or for a contact (see docs/tracking.md).

    Imported lazily so that ``import wagtail_segments`` works before Django is set up.
    """
    from wagtail_segments.tracking.recorder import track as _track

    return _track(request_or_contact, kind, **data)
