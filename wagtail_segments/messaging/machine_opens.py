"""Telling a person's open of an email from a machine's.

Some mail services fetch every image of every message as it arrives, whether anyone reads it
or not: Apple Mail Privacy Protection (its proxy sends the bare user agent ``Mozilla/5.0``)
and the link and image scanners of corporate mail filters (which fetch within a second or two
of delivery, often with a crawler's user agent). Such opens are recorded, marked
``machine: true`` on the ``email_opened`` event, and do not answer "opened?" decisions or
message rules unless the editor includes them.

Gmail's and Yahoo's image proxies (``GoogleImageProxy``, ``YahooMailProxy``) fetch when the
message is opened, so their opens count as a person's. The heuristic, in order:

1. a user agent matching one of ``EMAIL_MACHINE_OPEN_USER_AGENTS`` (regular expressions:
   by default empty, exactly ``Mozilla/5.0``, or a mail scanner's name) or containing one of
   the site's ``BOT_USER_AGENTS`` (the list tracking uses) is a machine;
2. a known on-open proxy is a person;
3. an open less than ``EMAIL_MACHINE_OPEN_SECONDS`` after the message was sent is a machine;
4. anything else (an unknown user agent included) is a person.

Both the open pixel and provider tracking (anymail) call ``is_machine_open``.
"""

from __future__ import annotations

import datetime
import re

from wagtail_segments.conf import settings as conf

# Image proxies that fetch when the person opens the message.
ON_OPEN_PROXIES = ("googleimageproxy", "yahoomailproxy")


def is_machine_open(
    user_agent: str | None,
    sent_at: datetime.datetime | None,
    opened_at: datetime.datetime | None,
) -> bool:
    """Whether an open was made by a machine rather than a person (see the module docstring).
    ``user_agent`` None means unknown (a provider that does not report it): then only the
    timing can tell."""
    if user_agent is not None:
        agent = user_agent.strip().casefold()
        if any(re.search(pattern, user_agent.strip(), re.I) for pattern in conf.EMAIL_MACHINE_OPEN_USER_AGENTS or []):
            return True
        if any(token.casefold() in agent for token in conf.BOT_USER_AGENTS):
            return True
        if any(proxy in agent for proxy in ON_OPEN_PROXIES):
            return False
    if sent_at is not None and opened_at is not None:
        return (opened_at - sent_at).total_seconds() < (conf.EMAIL_MACHINE_OPEN_SECONDS or 0)
    return False
