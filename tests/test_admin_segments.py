"""The Marketing menu's segment screens: the rules editor renders and saving a segment
with a cycle gives a form error, not a 500."""

import re

import pytest

from tests.segment_helpers import rule, segment
from wagtail_segments.models import Segment

pytestmark = pytest.mark.django_db


def test_segment_create_form_offers_every_rule_type(admin_client):
    response = admin_client.get("/admin/wagtail_segments/segment/create/")
    assert response.status_code == 200
    content = response.content.decode()
    for label in ("Contact field", "Page views", "Form submitted", "In another segment", "Group"):
        assert label in content


def test_segment_list_shows_member_counts(admin_client):
    segment(rule("tags", tags="vip"), name="VIPs")
    response = admin_client.get("/admin/wagtail_segments/segment/")
    assert response.status_code == 200 and "VIPs" in response.content.decode()


def test_a_cycle_is_refused_with_a_form_error(admin_client):
    a = segment(rule("tags", tags="x"), name="A", slug="a")
    b = segment(rule("segment", segment=str(a.pk)), name="B", slug="b")
    data = {
        "name": "A", "slug": "a", "description": "", "kind": "dynamic", "active": "on", "match": "all",
        "rules-count": "1", "rules-0-type": "segment", "rules-0-deleted": "", "rules-0-order": "0",
        "rules-0-value-segment": str(b.pk), "rules-0-value-negate": "",
        "reminder_days": "", "automatic_touchpoints_count": "on",
    }
    response = admin_client.post(f"/admin/wagtail_segments/segment/edit/{a.pk}/", data)
    assert response.status_code == 200
    assert "depend on itself" in response.content.decode()
    a.refresh_from_db()
    assert a.rules.raw_data[0]["type"] == "tags"
    assert Segment.objects.count() == 2


def test_segment_list_shows_a_segment_whose_rules_failed(admin_client):
    from wagtail_segments.segments.evaluation import mark_failed

    broken = segment(rule("tags", tags="vip"), slug="broken")
    mark_failed(broken, RuntimeError("bug in a custom rule"))
    html = admin_client.get("/admin/wagtail_segments/segment/").content.decode()
    assert "Rule problems" in html and "RuntimeError: bug in a custom rule" in html


def test_contacts_listing_puts_never_seen_contacts_last(admin_client):
    """(The contacts listing: the model's nulls-last ordering, in the form modeladmin takes.)"""
    import datetime

    from django.utils import timezone

    from wagtail_segments.models import Contact

    Contact.objects.create(email="never@example.com")
    Contact.objects.create(email="seen@example.com", last_seen=timezone.now() - datetime.timedelta(days=400))
    html = admin_client.get("/admin/wagtail_segments/contact/").content.decode()
    assert html.index("seen@example.com") < html.index("never@example.com")


def test_segment_list_columns_have_distinct_headings(admin_client):
    segment(rule("tags", tags="vip"), name="VIPs")
    html = admin_client.get("/admin/wagtail_segments/segment/").content.decode()
    head = re.search(r'<table class="listing.*?</thead>', html, re.S).group(0)
    headings = [h.strip() for h in re.findall(r"<th[^>]*>\s*(?:<a[^>]*>)?\s*([^<]+?)\s*<", head)]
    assert "Members" in headings and "Member list" in headings
    assert len(headings) == len(set(headings)), headings
