"""notify_staff: an email to a user or a group's active members with a link to the contact."""

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.urls import reverse

from tests import factories
from wagtail_segments.campaigns.actions import action_problems
from wagtail_segments.campaigns.executor import run_due_steps
from wagtail_segments.campaigns.models import StepLog

pytestmark = pytest.mark.django_db


def notify_campaign(**config):
    campaign = factories.campaign(name="Renewal")
    factories.step(campaign, "action", name="Call them", action="notify_staff", **config)
    return campaign


def test_the_user_gets_an_email_with_the_contact_and_a_link_to_it_in_the_admin(settings):
    settings.WAGTAILADMIN_BASE_URL = "https://admin.example.com"
    sales = factories.staff_user("sales")
    contact = factories.contact(first_name="<script>alert(1)</script>", email="eve@example.com")
    run = factories.run(notify_campaign(user=sales.pk, note="Call them today"), contact)

    run_due_steps()

    [email] = mail.outbox
    assert email.to == ["sales@example.com"]
    assert "reached “Call them” in Renewal" in email.subject
    link = "https://admin.example.com" + reverse("wagtail_segments_contact_modeladmin_inspect", args=[contact.pk])
    assert link in email.body and "Call them today" in email.body
    html, mimetype = email.alternatives[0]
    assert mimetype == "text/html"
    assert f'href="{link}"' in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>" not in html
    assert StepLog.objects.get(run=run).result == {"notified": [sales.pk]}


def test_a_group_mails_each_active_member_with_an_email_once():
    group = Group.objects.create(name="Sales")
    active = [factories.staff_user(), factories.staff_user()]
    inactive = factories.staff_user(is_active=False)
    no_email = factories.staff_user(email="")
    group.user_set.add(*active, inactive, no_email)
    campaign = notify_campaign(group=group.pk)
    factories.run(campaign, factories.contact(email="lead@example.com"))

    run_due_steps()
    run_due_steps()

    assert sorted(m.to[0] for m in mail.outbox) == sorted(u.email for u in active)


def test_nobody_to_notify_fails_the_attempt():
    group = Group.objects.create(name="Empty")
    run = factories.run(notify_campaign(group=group.pk), factories.contact())
    run_due_steps()
    run.refresh_from_db()
    assert mail.outbox == []
    assert run.attempts == 1 and "Nobody to notify" in run.last_error


def test_problems_name_the_missing_user_or_group():
    assert action_problems({"action": "notify_staff"}) == ["Choose one user or one group to notify."]
    assert action_problems({"action": "notify_staff", "user": 1, "group": 1}) == [
        "Choose one user or one group to notify."]
    assert action_problems({"action": "notify_staff", "user": 4242}) == ["The user to notify (id 4242) does not exist."]
    assert action_problems({"action": "notify_staff", "group": 77}) == ["The group to notify (id 77) does not exist."]
    assert action_problems({"action": "notify_staff", "user": factories.staff_user().pk}) == []
