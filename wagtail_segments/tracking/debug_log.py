"""With ``DEBUG`` on, one log line per recorded event: a developer trying the app by hand sees
tracking work in the ``runserver`` console (docs/installation.md, "See it work").

It listens to ``event_recorded`` rather than living in the recorder, so that it costs a
production site one settings lookup per event and nothing else.
"""

from __future__ import annotations

import logging

from django.conf import settings

logger = logging.getLogger(__name__)


def log_recorded_event(sender, event, **kwargs) -> None:
    if settings.DEBUG:
        logger.info(
            "Recorded %s event %s for contact %s on %s",
            event.kind, event.pk, event.contact_id, event.path or "-",
        )
