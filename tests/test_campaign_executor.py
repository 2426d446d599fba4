"""Executing due runs: each step at most once, under retries, crashes and two workers."""

import datetime

import pytest
from django.utils import timezone

from tests import factories
from wagtail_segments.campaigns.claims import claim_due_runs
from wagtail_segments.campaigns.executor import execute_run, run_due_steps
from wagtail_segments.campaigns.models import Run, StepLog

pytestmark = pytest.mark.django_db


def test_a_due_run_goes_through_its_steps_and_completes():
    campaign = factories.campaign()
    factories.chain(campaign, ("action", {"action": "add_tags", "tags": ["welcomed"]}),
                    ("action", {"action": "change_points", "points": 5}))
    contact = factories.contact()
    run = factories.run(campaign, contact)

    assert run_due_steps() == 1

    run.refresh_from_db()
    contact.refresh_from_db()
    assert run.state == Run.State.COMPLETED and run.finished_at is not None
    assert list(contact.tags.names()) == ["welcomed"]
    assert contact.points == 5
    assert list(run.logs.values_list("state", flat=True)) == ["done", "done"]
