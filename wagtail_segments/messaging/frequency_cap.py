"""The frequency cap: at most N marketing messages per contact per D days, across all
campaigns and direct sends, counted per channel (``EMAIL_FREQUENCY_CAP`` for email,
``SMS_FREQUENCY_CAP`` for texts, each with its ``…_DAYS``).

Only sent, non-test marketing deliveries of the same channel count; transactional messages
are never counted and never capped. A capped contact is skipped with the reason, like any
other gate: the caller records a delivery *not sent* and a campaign step goes on. Two
workers sending to the same contact at the same moment may each see the count below the cap.
"""

from __future__ import annotations

import datetime

from django.db.models import Count
from django.utils.translation import ngettext

from wagtail_segments.conf import settings as conf

from .models import Channel, Delivery, Purpose


def cap_for(channel: str) -> tuple[int | None, int | None]:
    """(N, D) for ``channel``: N messages per D days; either None: no cap."""
    if channel == Channel.SMS:
        return conf.SMS_FREQUENCY_CAP, conf.SMS_FREQUENCY_CAP_DAYS
    return conf.EMAIL_FREQUENCY_CAP, conf.EMAIL_FREQUENCY_CAP_DAYS


def _reason(channel: str, count: int, days: int) -> str:
    if channel == Channel.SMS:
        text = ngettext("Frequency cap: %(n)s marketing text in the last %(days)s days.",
                        "Frequency cap: %(n)s marketing texts in the last %(days)s days.", count)
    else:
        text = ngettext("Frequency cap: %(n)s marketing email in the last %(days)s days.",
                        "Frequency cap: %(n)s marketing emails in the last %(days)s days.", count)
    return text % {"n": count, "days": days}


def capped_contacts(channel: str, purpose: str, contact_ids: list[int],
                    now: datetime.datetime) -> dict[int, str]:
    """Why each of ``contact_ids`` that has reached ``channel``'s cap may not get another
    message of ``purpose``, by contact id (one query; none when nothing is capped)."""
    cap, days = cap_for(channel)
    if purpose != Purpose.MARKETING or cap is None or not days or not contact_ids:
        return {}
    counts = (
        Delivery.objects.filter(
            contact_id__in=contact_ids, channel=channel, purpose=Purpose.MARKETING, status=Delivery.Status.SENT,
            test=False, sent_at__gte=now - datetime.timedelta(days=days),
        ).values("contact_id").annotate(n=Count("pk")).values_list("contact_id", "n")
    )
    return {contact_id: _reason(channel, n, days) for contact_id, n in counts if n >= cap}
