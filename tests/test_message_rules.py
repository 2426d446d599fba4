"""Segment rules over message events: sent, delivered, opened, clicked (any email, one email,
a campaign's), link clicked, bounced / complained / unsubscribed; machine opens left out
unless the rule includes them. Checked in full rebuilds and in the pass over new events."""

import datetime

import pytest
from django.db.models import Max
from django.utils import timezone

from tests import factories
from tests.segment_helpers import members, rule, segment
from wagtail_segments.contacts.models import ProcessingPosition
from wagtail_segments.contacts.tasks import POSITION_NAME, process_new_events
from wagtail_segments.messaging.models import EmailMessage
from wagtail_segments.messaging.rules import message_choices
from wagtail_segments.models import Event
from wagtail_segments.segments.compiler import matching_contacts
from wagtail_segments.segments.evaluation import rebuild_segment
from wagtail_segments.segments.rules import RuleContext

pytestmark = pytest.mark.django_db

WINDOW = {"window": "ever", "days": None, "start": None, "end": None}
EMAIL = {"activity": "opened", "scope": "any", "message": None, "campaign": None, "link_contains": "",
         "include_machine_opens": False, "count_operator": "at_least", "count": 1, **WINDOW}


def email_rule(**value):
    return rule("email_activity", **{**EMAIL, **value})


def status_rule(status, **value):
    return rule("email_status", status=status, **{**WINDOW, **value})


def matched(*rules):
    return set(matching_contacts(segment(*rules, build=False), RuleContext()))


def happened(contact, kind, days_ago=1, **data):
    return Event.objects.create(
        contact=contact, kind=kind, time=timezone.now() - datetime.timedelta(days=days_ago), data=data,
    )


@pytest.fixture
def world():
    welcome = EmailMessage.objects.create(name="Welcome", subject="Hi")
    promo = EmailMessage.objects.create(name="Promo", subject="Sale")
    campaign = factories.campaign(name="Onboarding")
    people = {name: factories.contact(email=f"{name}@example.com") for name in
              ("reader", "machine", "clicker", "old", "promo", "bounced", "quiet")}
    happened(people["reader"], "email_opened", message=welcome.pk, campaign=campaign.pk, machine=False)
    happened(people["machine"], "email_opened", message=welcome.pk, campaign=campaign.pk, machine=True)
    happened(people["clicker"], "email_clicked", message=welcome.pk, campaign=campaign.pk,
             url="https://example.com/Pricing?ref=mail")
    happened(people["clicker"], "email_opened", message=welcome.pk)  # no machine key: a person
    happened(people["old"], "email_opened", days_ago=40, message=welcome.pk, campaign=campaign.pk)
    happened(people["promo"], "email_opened", message=promo.pk)
    happened(people["promo"], "email_sent", message=promo.pk)
    happened(people["bounced"], "email_bounced", message=promo.pk)
    happened(people["bounced"], "email_unsubscribed", days_ago=100)
    return {"welcome": welcome, "promo_email": promo, "campaign": campaign, **people}


def ids(world, *names):
    return {world[name].pk for name in names}


def test_opened_any_email_leaves_machine_opens_out_unless_included(world):
    assert matched(email_rule()) == ids(world, "reader", "clicker", "old", "promo")
    assert matched(email_rule(include_machine_opens=True)) == ids(world, "reader", "machine", "clicker", "old", "promo")
    assert matched(email_rule(window="last_days", days=30)) == ids(world, "reader", "clicker", "promo")
    assert matched(email_rule(negate=True)) == ids(world, "machine", "bounced", "quiet")


def test_opened_a_given_email_or_any_email_of_a_campaign(world):
    assert matched(email_rule(scope="message", message=str(world["promo_email"].pk))) == ids(world, "promo")
    assert matched(email_rule(scope="campaign", campaign=str(world["campaign"].pk), window="last_days", days=30)) \
        == ids(world, "reader")


def test_clicked_a_link_containing_text_ignoring_case(world):
    assert matched(email_rule(activity="clicked")) == ids(world, "clicker")
    assert matched(email_rule(activity="clicked", link_contains="/pricing")) == ids(world, "clicker")
    assert matched(email_rule(activity="clicked", link_contains="/blog")) == set()


def test_sent_and_counts(world):
    assert matched(email_rule(activity="sent")) == ids(world, "promo")
    assert matched(email_rule(count_operator="at_least", count=2)) == set()


def test_bounced_complained_and_unsubscribed(world):
    assert matched(status_rule("bounced")) == ids(world, "bounced")
    assert matched(status_rule("unsubscribed")) == ids(world, "bounced")
    assert matched(status_rule("unsubscribed", window="last_days", days=30)) == set()
    assert matched(status_rule("complained")) == set()


def test_a_deleted_email_or_campaign_breaks_the_rule_and_matches_no_one(world):
    seg = segment(email_rule(scope="message", message=str(world["promo_email"].pk)))
    assert members(seg) == ids(world, "promo")
    world["promo_email"].delete()
    rebuild_segment(seg)
    seg.refresh_from_db()
    assert members(seg) == set() and seg.rule_problems
    gone = segment(email_rule(scope="campaign", campaign="999999"))
    assert members(gone) == set() and gone.rule_problems


def test_the_pass_over_new_events_moves_members_of_message_rules():
    welcome = EmailMessage.objects.create(name="Welcome", subject="Hi")
    ann, bob = factories.contact(email="ann@example.com"), factories.contact(email="bob@example.com")
    opened = segment(email_rule(scope="message", message=str(welcome.pk), window="last_days", days=7))
    unsubscribed = segment(status_rule("unsubscribed"))
    ProcessingPosition.objects.update_or_create(
        name=POSITION_NAME, defaults={"position": Event.objects.aggregate(m=Max("id"))["m"] or 0},
    )
    happened(ann, "email_opened", days_ago=0, message=welcome.pk, machine=False)
    happened(bob, "email_opened", days_ago=0, message=welcome.pk, machine=True)
    happened(bob, "email_unsubscribed", days_ago=0)
    process_new_events()
    assert members(opened) == {ann.pk}
    assert members(unsubscribed) == {bob.pk}


def test_the_rules_are_offered_in_the_editor_with_the_messages_to_choose(admin_client):
    EmailMessage.objects.create(name="Welcome <b>", subject="Hi")
    html = admin_client.get("/admin/wagtail_segments/segment/create/").content.decode()
    assert "Email sent, delivered, opened or clicked" in html
    assert "Email bounced, spam complaint or unsubscribed" in html
    assert [name for _pk, name in message_choices()] == ["Welcome <b>"]
