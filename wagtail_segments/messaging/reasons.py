"""The words the admin shows for the short codes stored as a "do not contact" reason or a
consent's source.

The codes stay English in the database: other code matches them (privacy.py keeps a
suppression for the reasons in ``KEEP_SUPPRESSED_REASONS``) and a reason is written in
whatever language the worker or the visitor's request happened to use. So they are
translated where they are shown. A reason typed by a member of staff is shown as typed.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

REASONS = {
    "unsubscribed": gettext_lazy("unsubscribed"),
    "suppressed": gettext_lazy("on the suppression list"),
    "bounced": gettext_lazy("bounced"),
    "complained": gettext_lazy("marked as spam"),
    "rejected": gettext_lazy("rejected by the email provider"),
    "opted out": gettext_lazy("opted out"),
}

SOURCES = {
    "preference page": gettext_lazy("preference page"),
    "unsubscribe page": gettext_lazy("unsubscribe page"),
    "one-click": gettext_lazy("one-click unsubscribe in the email"),
    "confirmation link": gettext_lazy("confirmation link"),
    "form": gettext_lazy("form"),
    "staff": gettext_lazy("staff"),
    "SMS reply": gettext_lazy("reply by SMS"),
}
PROVIDER_PREFIX = "provider: "


def source_label(source: str) -> str:
    """``source`` in the reader's language when it is one the package writes."""
    if source in SOURCES:
        return str(SOURCES[source])
    if source.startswith(PROVIDER_PREFIX):
        return _("email provider %(provider)s") % {"provider": source.removeprefix(PROVIDER_PREFIX)}
    return source


def reason_label(reason: str) -> str:
    """A stored reason (``"unsubscribed"``, ``"opted out (preference page)"``…) in the
    reader's language; anything else as it is."""
    code, bracket, rest = reason.partition(" (")
    if code not in REASONS or (bracket and not rest.endswith(")")):
        return reason
    if not bracket:
        return str(REASONS[code])
    return _("%(reason)s (%(source)s)") % {"reason": REASONS[code], "source": source_label(rest[:-1])}
