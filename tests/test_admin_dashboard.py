"""The marketing panels on the Wagtail home page, each shown only to who may read it."""

import datetime

import pytest
from django.utils import timezone

from tests import factories
from tests.admin_helpers import editor
from wagtail_segments.messaging.models import Delivery
from wagtail_segments.segments.models import Membership, Segment, SegmentDailyCount

pytestmark = pytest.mark.django_db


def test_the_home_page_counts_contacts_segments_reminders_and_todays_sends(admin_client):
    for n in range(3):
        factories.contact(email=f"known{n}@example.com")
    factories.contact(email="old@example.com", first_seen=timezone.now() - datetime.timedelta(days=30))
    factories.contact()
    big = Segment.objects.create(name="Big", slug="big", kind="static", member_count=120)
    SegmentDailyCount.objects.create(segment=big, date=timezone.localdate() - datetime.timedelta(days=7), count=100)
    late = Segment.objects.create(name="Customers", slug="customers", kind="static", reminder_days=30)
    Membership.objects.create(segment=late, contact=factories.contact(email="stale@example.com"),
                              added_at=timezone.now() - datetime.timedelta(days=90))
    campaign = factories.campaign(name="Welcome series")
    Delivery.objects.create(contact=factories.contact(email="d@example.com"), campaign_id=campaign.pk,
                            sent_at=timezone.now(), to_address="d@example.com")

    html = admin_client.get("/admin/").content.decode()

    assert "Known (an email or an account)" in html
    assert "<td>6</td><td>5</td>" in html  # 6 known, 5 of them new this week
    assert "<td>1</td><td>1</td>" in html  # 1 anonymous, new
    assert "Big</a></th>\n                        <td>120</td>\n                        <td>+20</td>" in html
    assert "Customers: 1 expired member" in html
    assert "<th scope=\"row\">Welcome series</th><td>1</td>" in html


def test_panels_are_hidden_without_permission(client):
    client.force_login(editor("writer"))
    html = client.get("/admin/").content.decode()
    assert "wsg-dashboard-contacts" not in html and "wsg-dashboard-segments" not in html
    client.force_login(editor("marketer", "view_contact"))
    html = client.get("/admin/").content.decode()
    assert "wsg-dashboard-contacts" in html and "wsg-dashboard-segments" not in html
