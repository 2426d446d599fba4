"""Panels on the Wagtail home page (``construct_homepage_panels``): how many contacts are known
and anonymous and how many are new this week; the largest segments and how they changed in a
week; reminder segments with expired members; active campaigns with today's sends.

Each panel is shown only to a user who may see what it counts, and each costs a few indexed
queries (counts, a LIMIT over segments, one grouped count of today's deliveries).
"""

from __future__ import annotations

import datetime
from typing import Any, Mapping

from django.db.models import Count, Q
from django.utils import timezone
from wagtail.admin.ui.components import Component

from wagtail_segments.campaigns.models import Campaign
from wagtail_segments.contacts.models import Contact
from wagtail_segments.messaging.models import Delivery
from wagtail_segments.segments.models import Segment, SegmentDailyCount
from wagtail_segments.segments.reminders import expired_counts

LARGEST_SEGMENTS = 5
CONTACT_PERMISSIONS = ("view_contact", "add_contact", "change_contact", "delete_contact")
SEGMENT_PERMISSIONS = ("view_segment", "add_segment", "change_segment")
CAMPAIGN_PERMISSIONS = ("view_campaign", "add_campaign", "change_campaign")


def _may(user, codenames) -> bool:
    return any(user.has_perm(f"wagtail_segments.{codename}") for codename in codenames)


class ContactsPanel(Component):
    name = "wagtail_segments_contacts"
    template_name = "wagtail_segments/admin/dashboard/contacts.html"
    order = 150

    def get_context_data(self, parent_context: Mapping[str, Any]) -> Mapping[str, Any]:
        week_ago = timezone.now() - datetime.timedelta(days=7)
        live = Contact.objects.live()
        anonymous = Q(email_key__isnull=True, user__isnull=True)
        return {
            "known": live.exclude(anonymous).count(),
            "anonymous": live.filter(anonymous).count(),
            "new_known": live.exclude(anonymous).filter(first_seen__gte=week_ago).count(),
            "new_anonymous": live.filter(anonymous, first_seen__gte=week_ago).count(),
        }


class SegmentsPanel(Component):
    name = "wagtail_segments_segments"
    template_name = "wagtail_segments/admin/dashboard/segments.html"
    order = 160

    def get_context_data(self, parent_context: Mapping[str, Any]) -> Mapping[str, Any]:
        largest = list(Segment.objects.filter(active=True).order_by("-member_count", "name")[:LARGEST_SEGMENTS])
        week_ago = timezone.localdate() - datetime.timedelta(days=7)
        before = dict(
            SegmentDailyCount.objects.filter(segment__in=largest, date=week_ago).values_list("segment_id", "count")
        )
        rows = [(segment, segment.member_count - before[segment.pk] if segment.pk in before else None)
                for segment in largest]
        reminders = expired_counts()
        late = [(segment, reminders[segment.pk])
                for segment in Segment.objects.filter(pk__in=[pk for pk, count in reminders.items() if count])]
        return {
            "rows": rows,
            "late": late,
            "reminder_segments": len(reminders),
        }


class CampaignsPanel(Component):
    name = "wagtail_segments_campaigns"
    template_name = "wagtail_segments/admin/dashboard/campaigns.html"
    order = 170

    def get_context_data(self, parent_context: Mapping[str, Any]) -> Mapping[str, Any]:
        campaigns = list(Campaign.objects.filter(status=Campaign.Status.ACTIVE).order_by("name")[:20])
        start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
        sends = dict(
            Delivery.objects.filter(campaign_id__in=[c.pk for c in campaigns], sent_at__gte=start)
            .values("campaign_id").annotate(n=Count("pk")).values_list("campaign_id", "n")
        )
        return {"campaigns": [(campaign, sends.get(campaign.pk, 0)) for campaign in campaigns]}


def homepage_panels(request, panels: list) -> None:
    """The ``construct_homepage_panels`` hook: the panels this user may read."""
    user = request.user
    if _may(user, CONTACT_PERMISSIONS):
        panels.append(ContactsPanel())
    if _may(user, SEGMENT_PERMISSIONS):
        panels.append(SegmentsPanel())
    if _may(user, CAMPAIGN_PERMISSIONS):
        panels.append(CampaignsPanel())
