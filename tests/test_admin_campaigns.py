"""The campaign screens: the listing's counts, the builder (outline, tree, counts, problems
on their step), adding, editing, moving and deleting steps, activate/pause/resume, runs and
unknown sends, broadcasts; each permission refused with a 403 and each change audited."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from wagtail.models import ModelLogEntry

from tests import factories
from tests.admin_helpers import editor
from tests.query_plans import query_plan
from tests.segment_helpers import segment
from wagtail_segments.admin.campaign_tree import build_tree, step_counts
from wagtail_segments.admin.campaigns import unknown_sends
from wagtail_segments.campaigns.models import Campaign, Run, Step, StepLog

pytestmark = pytest.mark.django_db


def url(name, *args):
    return reverse(f"wagtail_segments_{name}", args=args)


def logged(campaign, action):
    return ModelLogEntry.objects.filter(object_id=str(campaign.pk), action=f"wagtail_segments.{action}")


@pytest.fixture
def marketer(client):
    user = editor("marketer", "view_campaign", "add_campaign", "change_campaign", "activate_campaign",
                  "send_broadcast", "view_emailmessage")
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def viewer(client):
    client.force_login(editor("viewer", "view_campaign"))
    return client


def nurture():
    """Tag → wait 2 days → decision "tagged customer within 3 days" (yes: points)."""
    campaign = factories.campaign(status="draft", name="Nurture")
    tag, wait = factories.chain(campaign, ("action", {"action": "add_tags", "tags": ["lead"]}), ("wait", {"days": 2}))
    decision = factories.step(campaign, "decision", parent=wait, name="Became a customer?", did="tagged",
                              tag="customer", days=3)
    points = factories.step(campaign, "action", parent=decision, branch="yes", action="change_points", points=5)
    return campaign, tag, wait, decision, points


def test_listing_counts_runs_per_campaign_in_one_query(marketer):
    campaign, tag, wait, *_ = nurture()
    other = factories.campaign(name="Other")
    for n in range(3):
        factories.run(campaign, factories.contact(email=f"a{n}@example.com"), step=wait, state="waiting")
    factories.run(campaign, factories.contact(email="done@example.com"), step=None, state="completed")
    factories.run(campaign, factories.contact(email="bad@example.com"), step=tag, state="failed")
    factories.run(other, factories.contact(email="o@example.com"), step=None, state="completed")
    marketer.get("/admin/wagtail_segments/campaign/")  # caches warmed
    with CaptureQueriesContext(connection) as queries:
        response = marketer.get("/admin/wagtail_segments/campaign/")
    assert response.status_code == 200
    rows = {c.name: c for c in response.context["view"].queryset}
    assert (rows["Nurture"].in_progress, rows["Nurture"].completed, rows["Nurture"].failed) == (3, 1, 1)
    assert (rows["Other"].in_progress, rows["Other"].completed) == (0, 1)
    assert "Send a broadcast" in response.content.decode()
    for n in range(4):  # more campaigns with runs: not one query more
        factories.run(factories.campaign(name=f"More {n}"), factories.contact(email=f"m{n}@example.com"), step=None)
    with CaptureQueriesContext(connection) as more:
        marketer.get("/admin/wagtail_segments/campaign/")
    assert len(more) == len(queries)


def test_builder_shows_the_outline_tree_and_counts(marketer):
    campaign, tag, wait, decision, points = nurture()
    contact = factories.contact(email="ada@example.com")
    run = factories.run(campaign, contact, step=wait, state="waiting")
    StepLog.objects.create(run=run, step=tag, state="done")
    with CaptureQueriesContext(connection) as queries:
        counts = step_counts(campaign)
    assert len(queries) == 1
    assert counts[wait.pk] == [1, 0] and counts[tag.pk] == [0, 1]
    response = marketer.get(url("campaign_builder", campaign.pk))
    content = response.content.decode()
    assert response.status_code == 200
    assert "Became a customer?" in content and "Wait 2 days" in content
    assert 'data-at="1"' in content and 'data-through="1"' in content
    assert "Add on No" in content and "Activate" in content


def test_a_problem_is_shown_on_the_step_at_fault():
    campaign = factories.campaign(status="draft")
    factories.step(campaign, "decision", name="Opened?", did="tagged", tag="x", days=1)  # its yes-branch is empty
    tree = build_tree(campaign)
    (node,) = tree.roots
    assert node.problems == ["its “Yes” branch is empty."]
    assert tree.problems == []


def test_add_a_step_after_another_and_on_a_branch(marketer):
    campaign, tag, wait, decision, points = nurture()
    response = marketer.post(url("campaign_add_step", campaign.pk), {
        "parent": tag.pk, "branch": "next", "kind": "wait", "save": "1", "name": "Pause a bit",
        "wait_for": "length", "amount": "3", "unit": "hours",
    })
    assert response.status_code == 302
    new = Step.objects.get(name="Pause a bit")
    assert new.parent == tag and new.config == {"hours": 3}
    wait.refresh_from_db()
    assert wait.parent == new  # what stood there follows it
    no_branch = marketer.post(url("campaign_add_step", campaign.pk), {
        "parent": decision.pk, "branch": "no", "kind": "action", "action": "add_tags", "save": "1",
        "name": "Cold", "tags": "cold, later",
    })
    assert no_branch.status_code == 302
    cold = Step.objects.get(name="Cold")
    assert (cold.parent, cold.branch, cold.config["tags"]) == (decision, "no", ["cold", "later"])
    assert logged(campaign, "step_added").count() == 2
    assert logged(campaign, "step_added").first().user == marketer.user


def test_step_settings_use_choosers_and_refuse_what_the_kind_refuses(marketer):
    campaign, tag, wait, decision, points = nurture()
    static = segment(kind="static", name="Leads", slug="leads", build=False)
    page = marketer.get(url("campaign_add_step", campaign.pk) + f"?parent={tag.pk}&kind=action&action=add_to_segment")
    assert '<option value="%s">Leads</option>' % static.pk in page.content.decode()
    bad = marketer.post(url("campaign_edit_step", decision.pk), {
        "name": "Became a customer?", "did": "submitted", "amount": "3", "unit": "days",
    })
    assert bad.status_code == 200
    assert "Choose the form." in bad.content.decode()
    form = factories.form_page()
    good = marketer.post(url("campaign_edit_step", decision.pk), {
        "name": "Became a customer?", "did": "submitted", "form": form.pk, "amount": "3", "unit": "days",
    })
    assert good.status_code == 302
    decision.refresh_from_db()
    assert decision.config == {"did": "submitted", "form": form.pk, "days": 3}
    assert logged(campaign, "step_changed").get().data["previous_config"]["did"] == "tagged"


def test_move_a_step(marketer):
    campaign, tag, wait, decision, points = nurture()
    response = marketer.post(url("campaign_move_step", tag.pk), {"place": f"{wait.pk}:next"})
    assert response.status_code == 302
    wait.refresh_from_db(), tag.refresh_from_db(), decision.refresh_from_db()
    assert wait.parent is None and tag.parent == wait and decision.parent == tag
    assert logged(campaign, "step_moved").exists()


def test_delete_asks_where_waiting_runs_go(marketer):
    campaign, tag, wait, decision, points = nurture()
    run = factories.run(campaign, factories.contact(email="w@example.com"), step=wait, state="waiting")
    form = marketer.get(url("campaign_delete_step", wait.pk)).content.decode()
    assert "1 contact is on this step now." in form
    refused = marketer.post(url("campaign_delete_step", wait.pk), {})
    assert refused.status_code == 200 and Step.objects.filter(pk=wait.pk, kind="wait").exists()
    done = marketer.post(url("campaign_delete_step", wait.pk), {"runs_go_to": "next"})
    assert done.status_code == 302
    run.refresh_from_db()
    assert run.step == decision
    decision.refresh_from_db()
    assert decision.parent == tag
    assert logged(campaign, "step_deleted").get().data["runs_moved"] == 1


def test_activate_shows_the_problems_and_then_activates(marketer):
    campaign = factories.campaign(status="draft")
    decision = factories.step(campaign, "decision", name="Opened?", did="tagged", tag="x", days=1)
    refused = marketer.post(url("campaign_activate", campaign.pk))
    assert refused.status_code == 400
    assert "its “Yes” branch is empty." in refused.content.decode()
    campaign.refresh_from_db()
    assert campaign.status == "draft"
    factories.step(campaign, "action", parent=decision, branch="yes", action="change_points", points=1)
    assert marketer.post(url("campaign_activate", campaign.pk)).status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == "active" and campaign.owner == marketer.user
    assert marketer.post(url("campaign_pause", campaign.pk)).status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == "paused"
    assert "send it all now" in marketer.get(url("campaign_builder", campaign.pk)).content.decode()
    assert marketer.post(url("campaign_resume", campaign.pk), {"catch_up": "now"}).status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == "active"
    assert logged(campaign, "campaign_resumed").get().data["catch_up"] is True
    assert logged(campaign, "campaign_activated").get().user == marketer.user


def test_resume_spread_moves_what_fell_due_later(marketer):
    campaign, tag, wait, *_ = nurture()
    Campaign.objects.filter(pk=campaign.pk).update(status="paused", paused_at=timezone.now() - timezone.timedelta(hours=2))
    run = factories.run(campaign, factories.contact(email="r@example.com"), step=wait, state="waiting",
                        next_due_at=timezone.now() - timezone.timedelta(hours=1))
    marketer.post(url("campaign_resume", campaign.pk), {"catch_up": "spread"})
    run.refresh_from_db()
    assert run.next_due_at > timezone.now() + timezone.timedelta(minutes=50)


def test_runs_history_and_resolving_an_unknown_send(marketer):
    campaign, tag, wait, *_ = nurture()
    contact = factories.contact(email="u@example.com", first_name="Una")
    run = factories.run(campaign, contact, step=tag, state="active", next_due_at=None,
                        last_error="A worker stopped while acting")
    log = StepLog.objects.create(run=run, step=tag, state="unknown")
    runs = marketer.get(url("campaign_runs", campaign.pk)).content.decode()
    assert "It was sent" in runs and "It was not sent" in runs and "Una" in runs
    detail = marketer.get(url("campaign_run", run.pk)).content.decode()
    assert "A worker stopped while acting" in detail and "Outcome unknown" in detail
    assert marketer.post(url("resolve_unknown", log.pk), {"acted": "yes"}).status_code == 302
    log.refresh_from_db(), run.refresh_from_db()
    assert log.state == "done" and run.next_due_at is not None
    assert logged(campaign, "unknown_step_resolved").get().data["acted"] is True


def test_the_runs_pages_keep_the_state_filter(marketer, monkeypatch):
    from wagtail_segments.admin import campaigns

    monkeypatch.setattr(campaigns, "RUNS_PER_PAGE", 2)
    campaign, _tag, wait, *_ = nurture()
    for n in range(3):
        factories.run(campaign, factories.contact(email=f"w{n}@example.com"), step=wait, state="waiting")
    factories.run(campaign, factories.contact(email="done@example.com"), step=None, state="completed")
    first = marketer.get(url("campaign_runs", campaign.pk), {"state": "waiting"}).content.decode()
    assert "Page 1 of 2" in first and 'href="?state=waiting&amp;p=2">Older</a>' in first
    second = marketer.get(url("campaign_runs", campaign.pk), {"state": "waiting", "p": 2}).content.decode()
    assert "w0@example.com" in second and "done@example.com" not in second


def test_the_builder_counts_unknown_sends_from_their_own_small_index():
    campaign, tag, *_ = nurture()
    for n in range(3):
        run = factories.run(campaign, factories.contact(email=f"k{n}@example.com"), step=tag)
        StepLog.objects.create(run=run, step=tag, state="unknown" if n == 0 else "done")

    assert unknown_sends(campaign).count() == 1
    assert "wsg_steplog_unknown" in query_plan(unknown_sends(campaign)), query_plan(unknown_sends(campaign))


def test_broadcast_creates_a_campaign_with_the_segment_as_source(marketer):
    pytest.importorskip("wagtail_segments.campaigns.email_action")  # the send_email action (email slice)
    from wagtail_segments.messaging.models import EmailMessage

    audience = segment(kind="static", name="Newsletter", slug="newsletter", build=False)
    from wagtail_segments.segments.manual import add_contacts

    add_contacts(audience, [factories.contact(email=f"n{n}@example.com") for n in range(3)])
    message = EmailMessage.objects.create(name="June news", subject="June")
    response = marketer.post(url("broadcast"), {"name": "June", "message": message.pk, "segment": audience.pk,
                                                "when": "now"})
    assert response.status_code == 302
    campaign = Campaign.objects.get(name="June")
    assert campaign.status == "active" and campaign.entry_segment == audience and campaign.entry_segment_members
    (step,) = campaign.steps.all()
    assert step.config == {"action": "send_email", "message": message.pk}
    assert Run.objects.filter(campaign=campaign).count() == 3
    assert logged(campaign, "broadcast_sent").get().data["entered"] == 3


def test_scheduled_broadcast_waits_until_the_time(marketer):
    pytest.importorskip("wagtail_segments.campaigns.email_action")
    from wagtail_segments.messaging.models import EmailMessage

    audience = segment(kind="static", name="All", slug="all", build=False)
    message = EmailMessage.objects.create(name="Later", subject="Later")
    at = (timezone.now() + timezone.timedelta(days=1)).strftime("%Y-%m-%d %H:%M")
    response = marketer.post(url("broadcast"), {"name": "Later", "message": message.pk, "segment": audience.pk,
                                                "when": "at", "at": at})
    assert response.status_code == 302
    first = Campaign.objects.get(name="Later").first_step()
    assert first.kind == "wait" and first.child().config["action"] == "send_email"


@pytest.mark.parametrize("name,method,needs", [
    ("campaign_activate", "post", "activate"), ("campaign_pause", "post", "activate"),
    ("campaign_resume", "post", "activate"), ("campaign_add_step", "get", "change"),
    ("broadcast", "get", "broadcast"),
])
def test_each_action_is_refused_without_its_permission(viewer, name, method, needs):
    campaign, *_ = nurture()
    target = url(name) if name == "broadcast" else url(name, campaign.pk)
    response = getattr(viewer, method)(target)
    assert response.status_code == 403
    campaign.refresh_from_db()
    assert campaign.status == "draft"


def test_step_views_are_refused_without_change_permission(viewer):
    campaign, tag, wait, decision, points = nurture()
    for name in ("campaign_edit_step", "campaign_delete_step", "campaign_move_step"):
        assert viewer.post(url(name, wait.pk), {"runs_go_to": "leave", "place": "start:next"}).status_code == 403
    log = StepLog.objects.create(run=factories.run(campaign, factories.contact(email="x@example.com"), step=tag),
                                 step=tag, state="unknown")
    assert viewer.post(url("resolve_unknown", log.pk), {"acted": "yes"}).status_code == 403
    assert Step.objects.filter(pk=wait.pk, kind="wait").exists()
    # viewing is allowed, with no editing buttons
    builder = viewer.get(url("campaign_builder", campaign.pk)).content.decode()
    assert "Became a customer?" in builder and "Add after" not in builder


def test_without_any_campaign_permission_nothing_is_shown(client):
    client.force_login(editor("nobody"))
    campaign, *_ = nurture()
    assert client.get(url("campaign_builder", campaign.pk)).status_code == 403
    assert client.get(url("campaign_runs", campaign.pk)).status_code == 403
    menu = client.get("/admin/").content.decode()
    assert "Campaigns" not in menu


@pytest.mark.parametrize("kind,action", [
    ("action", "add_tags"), ("action", "set_field"), ("action", "notify_staff"), ("action", "webhook"),
    ("action", "send_sms"), ("action", "send_email"), ("wait", ""), ("decision", ""), ("condition", ""), ("split", ""), ("goal", ""),
])
def test_every_kind_has_a_settings_form(marketer, kind, action):
    campaign, tag, *_ = nurture()
    response = marketer.get(url("campaign_add_step", campaign.pk) + f"?parent={tag.pk}&kind={kind}&action={action}")
    assert response.status_code == 200
    assert "Save step" in response.content.decode()


def test_a_split_and_a_condition_from_their_forms(marketer):
    campaign, tag, wait, decision, points = nurture()
    split = marketer.post(url("campaign_add_step", campaign.pk), {
        "parent": points.pk, "branch": "next", "kind": "split", "save": "1", "name": "A/B",
        "share_a": "50", "share_b": "50",
    })
    assert split.status_code == 302
    made = Step.objects.get(name="A/B")
    assert made.config == {"shares": {"a": 50, "b": 50}}
    uneven = marketer.post(url("campaign_edit_step", made.pk), {"name": "A/B", "share_a": "50", "share_b": "20"})
    assert "The shares add up to 70, not 100." in uneven.content.decode()
    condition = marketer.post(url("campaign_add_step", campaign.pk), {
        "parent": tag.pk, "branch": "next", "kind": "condition", "save": "1", "name": "VIP?", "match": "all",
        "rules-count": "1", "rules-0-type": "points", "rules-0-deleted": "", "rules-0-order": "0", "rules-0-id": "",
        "rules-0-value-operator": "gte", "rules-0-value-points": "50",
    })
    assert condition.status_code == 302, condition.content.decode()[:3000]
    made = Step.objects.get(name="VIP?")
    assert made.config["match"] == "all"
    assert made.config["rules"][0]["type"] == "points" and made.config["rules"][0]["value"]["points"] == 50
    assert marketer.get(url("campaign_edit_step", made.pk)).status_code == 200


def test_a_step_left_unnamed_is_named_for_what_it_does(marketer):
    campaign, tag, *_ = nurture()
    welcome = factories.email_message(name="Welcome")
    added = marketer.post(url("campaign_add_step", campaign.pk), {
        "parent": tag.pk, "branch": "next", "kind": "action", "action": "send_email", "save": "1",
        "name": "", "email": welcome.pk,
    }, follow=True)
    step = Step.objects.get(config__action="send_email")
    assert step.name == "Send an email: Welcome"
    assert "Step “Send an email: Welcome” added." in added.content.decode()
    cleared = marketer.post(url("campaign_edit_step", tag.pk), {"name": "", "tags": "lead, warm"})
    assert cleared.status_code == 302
    tag.refresh_from_db()
    assert tag.name == "Add tags: lead, warm"


def test_a_set_field_step_says_what_it_sets_to_what_in_the_outline(marketer):
    from wagtail_segments.contacts.models import PropertyDefinition

    PropertyDefinition.objects.get_or_create(key="seats", defaults={"label": "Seats", "type": "number"})
    campaign = factories.campaign(status="draft", name="Upgrade")
    factories.chain(campaign, ("action", {"action": "set_field", "property": "seats", "value": 12}),
                    ("action", {"action": "set_field", "field": "country", "value": "<b>FR</b>"}))
    content = marketer.get(url("campaign_builder", campaign.pk)).content.decode()
    assert "Seats = 12" in content
    assert "Country = &lt;b&gt;FR&lt;/b&gt;" in content and "<b>FR</b>" not in content
