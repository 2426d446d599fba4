"""Claiming due runs: leases, the sweeper, and SQLite's "database is locked"."""

import datetime

import pytest
from django.db import OperationalError
from django.utils import timezone

from tests import factories
from wagtail_segments.campaigns import claims
from wagtail_segments.campaigns.claims import claim_due_runs
from wagtail_segments.campaigns.models import Run

pytestmark = pytest.mark.django_db


def send_campaign():
    campaign = factories.campaign()
    factories.chain(campaign, ("action", {"action": "add_tags", "tags": ["x"]}))
    return campaign, None


def test_an_unexpired_lease_keeps_other_workers_off_and_an_expired_one_does_not():
    campaign, _ = send_campaign()
    run = factories.run(campaign, factories.contact(), lease_owner="busy-worker",
                        lease_until=timezone.now() + datetime.timedelta(minutes=1))
    assert claim_due_runs() == []
    Run.objects.filter(pk=run.pk).update(lease_until=timezone.now() - datetime.timedelta(seconds=1))
    assert [r.pk for r in claim_due_runs()] == [run.pk]


def test_a_claim_leases_the_runs_and_bumps_their_version():
    campaign, _ = send_campaign()
    run = factories.run(campaign, factories.contact())
    claimed, = claim_due_runs(lease_seconds=120, owner="me")
    assert (claimed.pk, claimed.lease_owner, claimed.version) == (run.pk, "me", run.version + 1)
    assert 115 < (claimed.lease_until - timezone.now()).total_seconds() <= 120
    assert claim_due_runs() == []  # leased: no one else takes it


def test_database_is_locked_is_retried(monkeypatch):
    campaign, _ = send_campaign()
    run = factories.run(campaign, factories.contact())
    real, attempts = claims._claim, []

    def locked_once(*args):
        attempts.append(1)
        if len(attempts) == 1:
            raise OperationalError("database is locked")
        return real(*args)

    monkeypatch.setattr(claims, "_claim", locked_once)
    assert [r.pk for r in claim_due_runs()] == [run.pk]
    assert len(attempts) == 2


def test_other_database_errors_are_not_retried(monkeypatch):
    def broken(*args):
        raise OperationalError("no such table")

    monkeypatch.setattr(claims, "_claim", broken)
    with pytest.raises(OperationalError):
        claim_due_runs()
