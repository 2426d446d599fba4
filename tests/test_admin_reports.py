"""The marketing reports: their numbers on a small known dataset, the CSV download, the
permission each needs (403 without it, and no menu item), and the fixed number of queries."""

import csv
import datetime
import io
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests import factories
from tests.admin_helpers import editor
from wagtail_segments.campaigns.models import Run, StepLog
from wagtail_segments.contacts.models import EventKind
from wagtail_segments.messaging.models import Delivery
from wagtail_segments.segments.models import Segment, SegmentDailyCount

pytestmark = pytest.mark.django_db

SIZES = "/admin/marketing/reports/segment-sizes/"
FUNNEL = "/admin/marketing/reports/campaign-funnel/"
EMAILS = "/admin/marketing/reports/email-results/"


def download(client, url: str) -> list[list[str]]:
    response = client.get(url, {"export": "csv"} if "?" not in url else None)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def sized_segment() -> Segment:
    segment = Segment.objects.create(name="Customers", slug="customers", kind="static", member_count=12)
    Segment.objects.create(name="Small", slug="small", kind="static", member_count=1)
    today = timezone.localdate()
    for days_ago, count in ((3, 10), (1, 12), (0, 9)):  # day 2 was not recorded
        SegmentDailyCount.objects.create(segment=segment, date=today - datetime.timedelta(days=days_ago), count=count)
    return segment


def test_segment_sizes_show_the_largest_segment_by_day_with_a_chart_and_download(admin_client):
    sized_segment()
    today = timezone.localdate()

    html = admin_client.get(SIZES).content.decode()

    assert "Segment sizes over time: Customers" in html
    assert '<svg role="img"' in html and "Members of “Customers”, last 90 days" in html
    rows = download(admin_client, SIZES)
    assert rows == [
        ["Day", "Members", "Change from the day before"],
        [today.isoformat(), "9", "-3"],
        [(today - datetime.timedelta(days=1)).isoformat(), "12", "2"],
        [(today - datetime.timedelta(days=2)).isoformat(), "10", "0"],  # the gap keeps the day before's count
        [(today - datetime.timedelta(days=3)).isoformat(), "10", ""],
    ]


def test_segment_sizes_of_a_chosen_segment_and_period(admin_client):
    sized_segment()
    small = Segment.objects.get(slug="small")
    SegmentDailyCount.objects.create(segment=small, date=timezone.localdate() - datetime.timedelta(days=40), count=4)

    rows = download(admin_client, f"{SIZES}?segment={small.pk}&days=30&export=csv")

    assert len(rows) == 31 and rows[1][1] == "4"  # 30 days, each carrying the count from before the period


def test_campaign_funnel_counts_runs_that_reached_did_and_stand_at_each_step(admin_client):
    campaign = factories.campaign(name="Onboarding")
    send, wait = factories.chain(campaign, ("action", {"action": "add_tag", "tags": ["x"]}), ("wait", {"days": 2}))
    decision = factories.step(campaign, "decision", parent=wait, name="Opened?")
    yes = factories.step(campaign, "action", parent=decision, branch="yes", name="Thank")
    people = [factories.contact(email=f"p{n}@example.com") for n in range(4)]
    at_wait = [factories.run(campaign, people[n], step=wait, state=Run.State.WAITING) for n in (0, 1)]
    at_yes = factories.run(campaign, people[2], step=yes, state=Run.State.COMPLETED)
    factories.run(campaign, people[3], step=send)  # entered, nothing done yet
    for run in (*at_wait, at_yes):
        StepLog.objects.create(run=run, step=send, state=StepLog.State.DONE)
    for step in (wait, decision, yes):
        StepLog.objects.create(run=at_yes, step=step, state=StepLog.State.DONE)
    StepLog.objects.create(run=at_wait[0], step=wait, state=StepLog.State.CLAIMED)

    with CaptureQueriesContext(connection) as queries:
        rows = download(admin_client, f"{FUNNEL}?campaign={campaign.pk}&export=csv")

    assert rows[0] == ["Step", "Branch", "Kind", "Reached it", "Of those who entered", "Done", "There now"]
    by_step = {row[0]: row[1:] for row in rows[1:]}
    assert by_step[str(send)] == ["", "Action", "4", "100%", "3", "1"]
    assert by_step[str(wait)] == ["", "Wait", "3", "75%", "1", "2"]  # one logged, one waiting without a log
    assert by_step["Opened?"] == ["", "Decision", "1", "25%", "1", "0"]
    assert by_step["Thank"] == ["Yes", "Action", "1", "25%", "1", "0"]
    assert [row[0] for row in rows[1:]] == [str(send), str(wait), "Opened?", "Thank"]
    report_queries = [q["sql"] for q in queries.captured_queries
                      if "wagtail_segments_steplog" in q["sql"] or "wagtail_segments_run" in q["sql"]]
    assert len(report_queries) == 2, report_queries  # one per table, however many steps


def test_campaign_funnel_page_shows_the_newest_campaign_with_branches(admin_client):
    factories.campaign(name="Old one")
    campaign = factories.campaign(name="Newest")
    decision = factories.step(campaign, "decision", name="Opened?")
    factories.step(campaign, "action", parent=decision, branch="no", name="Remind")

    html = admin_client.get(FUNNEL).content.decode()

    assert "Campaign funnel: Newest" in html
    assert "Remind" in html and "On the branch No" in html


def test_email_results_per_message_from_deliveries_and_events(admin_client):
    welcome = factories.email_message(name="Welcome", subject="Hello")
    quiet = factories.email_message(name="Quiet", subject="Nothing yet")
    now = timezone.now()
    people = [factories.contact(email=f"r{n}@example.com") for n in range(4)]

    def deliver(person, **fields):
        return Delivery.objects.create(contact=person, email_message=welcome, to_address=person.email,
                                       status=fields.pop("status", Delivery.Status.SENT), sent_at=now, **fields)

    d0 = deliver(people[0], opened_at=now, clicked_at=now)
    d1 = deliver(people[1], opened_at=now)
    d2 = deliver(people[2])  # opened by a machine only: opened_at stays empty
    d3 = deliver(people[3])
    deliver(people[0], opened_at=now)  # the same person again: one person opened
    deliver(people[1], status=Delivery.Status.FAILED)
    deliver(people[2], test=True, opened_at=now)  # a test send counts nowhere
    for delivery in (d0, d1, d2):
        factories.event(delivery.contact, EventKind.EMAIL_DELIVERED, data={"delivery": delivery.pk, "message": welcome.pk})
    factories.event(d0.contact, EventKind.EMAIL_DELIVERED, data={"delivery": d0.pk, "message": welcome.pk})  # twice
    factories.event(d2.contact, EventKind.EMAIL_OPENED, data={"delivery": d2.pk, "message": welcome.pk, "machine": True})
    factories.event(d3.contact, EventKind.EMAIL_BOUNCED, data={"delivery": d3.pk, "message": welcome.pk})
    factories.event(d1.contact, EventKind.EMAIL_UNSUBSCRIBED, data={"delivery": d1.pk, "message": welcome.pk})
    factories.event(d1.contact, EventKind.EMAIL_BOUNCED, data={"delivery": 999, "message": quiet.pk + 100})

    rows = download(admin_client, EMAILS)

    assert rows[0] == ["Email", "Subject", "Sent", "Delivered", "Opened (people)", "Clicked (people)", "Open rate",
                       "Click rate", "Bounced", "Unsubscribed"]
    by_name = {row[0]: row[2:] for row in rows[1:]}
    # five sent to four people, two of whom opened and one clicked
    assert by_name["Welcome"] == ["5", "3", "2", "1", "50.0%", "25.0%", "1", "1"]
    assert by_name["Quiet"] == ["0", "0", "0", "0", "", "", "0", "0"]
    html = admin_client.get(EMAILS, {"q": "welc"}).content.decode()
    assert "Welcome" in html and "Quiet" not in html


def campaign_mailings():
    """Two campaigns sending "Welcome", one also "Reminder", spread over three weeks; an
    email nobody was sent. The events name their deliveries as sending does."""
    welcome = factories.email_message(name="Welcome")
    reminder = factories.email_message(name="Reminder")
    factories.email_message(name="Never sent")
    spring, autumn = factories.campaign(name="Spring"), factories.campaign(name="Autumn")
    now = timezone.now()
    mailings = [  # (message, campaign, days ago, opened, bounced)
        (welcome, spring, 20, True, False), (welcome, spring, 20, False, True),
        (welcome, autumn, 2, True, False), (welcome, autumn, 2, False, False), (welcome, autumn, 1, False, True),
        (reminder, autumn, 1, True, False),
    ]
    for n, (message, campaign, days_ago, opened, bounced) in enumerate(mailings):
        person = factories.contact(email=f"c{n}@example.com")
        sent_at = now - datetime.timedelta(days=days_ago)
        delivery = Delivery.objects.create(
            contact=person, email_message=message, campaign_id=campaign.pk, to_address=person.email,
            status=Delivery.Status.SENT, sent_at=sent_at, opened_at=sent_at if opened else None)
        if bounced:
            factories.event(person, EventKind.EMAIL_BOUNCED,
                            data={"delivery": delivery.pk, "message": message.pk, "campaign": campaign.pk})
    return spring, autumn


def test_email_results_filtered_by_campaign_count_only_its_deliveries_and_list_only_its_emails(admin_client):
    spring, autumn = campaign_mailings()

    all_rows = {row[0]: row[2:] for row in download(admin_client, EMAILS)[1:]}
    spring_rows = {row[0]: row[2:] for row in download(admin_client, f"{EMAILS}?campaign={spring.pk}&export=csv")[1:]}
    autumn_rows = {row[0]: row[2:] for row in download(admin_client, f"{EMAILS}?campaign={autumn.pk}&export=csv")[1:]}

    # sent, delivered, opened, clicked, open rate, click rate, bounced, unsubscribed
    assert all_rows["Welcome"] == ["5", "0", "2", "0", "40.0%", "0.0%", "2", "0"]
    assert "Never sent" in all_rows
    assert spring_rows == {"Welcome": ["2", "0", "1", "0", "50.0%", "0.0%", "1", "0"]}
    assert autumn_rows == {"Welcome": ["3", "0", "1", "0", "33.3%", "0.0%", "1", "0"],
                           "Reminder": ["1", "0", "1", "0", "100.0%", "0.0%", "0", "0"]}
    html = admin_client.get(EMAILS, {"campaign": spring.pk}).content.decode()
    assert "Welcome" in html and "Reminder" not in html and "Never sent" not in html


def test_email_results_filtered_by_the_days_sent_count_those_deliveries_and_their_bounces(admin_client):
    campaign_mailings()
    today = timezone.localdate()
    last_week = {"sent_from": (today - datetime.timedelta(days=7)).isoformat(), "sent_to": today.isoformat()}
    weeks_ago = {"sent_from": (today - datetime.timedelta(days=21)).isoformat(),
                 "sent_to": (today - datetime.timedelta(days=14)).isoformat()}

    recent = {row[0]: row[2:] for row in download(admin_client, f"{EMAILS}?{urlencode(last_week)}&export=csv")[1:]}
    earlier = {row[0]: row[2:] for row in download(admin_client, f"{EMAILS}?{urlencode(weeks_ago)}&export=csv")[1:]}
    only_start = download(admin_client, f"{EMAILS}?sent_from={(today - datetime.timedelta(days=1)).isoformat()}"
                                        "&export=csv")

    assert recent == {"Welcome": ["3", "0", "1", "0", "33.3%", "0.0%", "1", "0"],
                      "Reminder": ["1", "0", "1", "0", "100.0%", "0.0%", "0", "0"]}
    assert earlier == {"Welcome": ["2", "0", "1", "0", "50.0%", "0.0%", "1", "0"]}
    assert {row[0]: row[2] for row in only_start[1:]} == {"Welcome": "1", "Reminder": "1"}


def test_email_results_xlsx_download_applies_the_filters(admin_client):
    from openpyxl import load_workbook

    spring, _autumn = campaign_mailings()

    response = admin_client.get(EMAILS, {"campaign": spring.pk, "export": "xlsx"})

    assert response.status_code == 200
    content = b"".join(response.streaming_content) if response.streaming else response.content
    sheet = load_workbook(io.BytesIO(content)).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert [row[0] for row in rows[1:]] == ["Welcome"]
    assert rows[1][2] == 2 and rows[1][6] == "50.0%"


def test_email_results_page_offers_the_filters_and_its_download_links_keep_them(admin_client):
    spring, _autumn = campaign_mailings()

    html = admin_client.get(EMAILS, {"campaign": spring.pk, "sent_from": "2020-01-01"}).content.decode()

    assert "Sent between" in html and "Any campaign" in html
    assert f"campaign={spring.pk}&amp;sent_from=2020-01-01&amp;export=csv" in html


def test_email_results_run_two_aggregate_queries_whatever_the_number_of_messages(admin_client):
    for n in range(5):
        message = factories.email_message(name=f"M{n}")
        person = factories.contact(email=f"m{n}@example.com")
        Delivery.objects.create(contact=person, email_message=message, to_address=person.email,
                                status=Delivery.Status.SENT, sent_at=timezone.now())
    with CaptureQueriesContext(connection) as queries:
        admin_client.get(EMAILS)
    touching = [q for q in queries.captured_queries
                if "wagtail_segments_delivery" in q["sql"] or "wagtail_segments_event" in q["sql"]]
    assert len(touching) == 2


def test_a_name_that_looks_like_a_formula_is_guarded_in_the_csv(admin_client):
    factories.email_message(name="=HYPERLINK(\"x\")")
    rows = download(admin_client, EMAILS)
    assert rows[1][0] == "'=HYPERLINK(\"x\")"


@pytest.mark.parametrize("url, allowed", [
    (SIZES, "view_segment"), (FUNNEL, "view_campaign"), (EMAILS, "view_emailmessage"),
])
def test_each_report_needs_its_permission(client, url, allowed):
    client.force_login(editor("writer", "view_contact"))
    for target in (url, url + "results/", url + "?export=csv"):
        response = client.get(target)
        assert response.status_code == 403, target
    assert url not in client.get("/admin/").content.decode()  # not in the menu either

    client.force_login(editor("marketer", allowed))
    assert client.get(url).status_code == 200
    assert url in client.get("/admin/").content.decode()
