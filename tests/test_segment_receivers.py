"""Changes to contacts and tags reach the segments engine through one queued task."""

import pytest

from tests import factories

pytestmark = pytest.mark.django_db


def queued(monkeypatch):
    calls = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda func, *args, **kwargs: calls.append((func, args)))
    return calls


def test_changes_in_one_transaction_share_one_task(monkeypatch, django_capture_on_commit_callbacks):
    calls = queued(monkeypatch)
    ann, bob = factories.contact(), factories.contact()
    with django_capture_on_commit_callbacks(execute=True):
        ann.first_name = "Ann"
        ann.save()
        bob.tags.add("vip")
    evaluations = [args for func, args in calls if func.endswith("evaluate_contacts_task")]
    assert evaluations == [([ann.pk, bob.pk], ["contact", "tags"])]


@pytest.mark.django_db(transaction=True)
def test_a_change_outside_a_transaction_is_queued_at_once(monkeypatch):
    calls = queued(monkeypatch)
    contact = factories.contact()
    contact.first_name = "Cy"
    contact.save()
    assert [args for func, args in calls if func.endswith("evaluate_contacts_task")] == [([contact.pk], ["contact"])]
