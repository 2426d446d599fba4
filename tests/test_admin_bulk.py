"""Bulk actions on the contacts listing: on ticked contacts or on everyone the filters match
(re-applied on the server, the count confirmed first, large sets as a task with progress),
each checked against the user's permissions and recorded in the audit log."""

import pytest
from django.core.cache import cache
from django.test import override_settings
from wagtail.models import ModelLogEntry

from tests import factories
from tests.admin_helpers import editor
from tests.segment_helpers import segment
from wagtail_segments.admin import audit
from wagtail_segments.admin.bulk import progress_key, run_bulk_task
from wagtail_segments.models import Contact, Membership, TaggedContact

pytestmark = pytest.mark.django_db

BULK = "/admin/marketing/contacts/bulk/"
LISTING = "/admin/wagtail_segments/contact/"


@pytest.fixture
def people():
    """Three contacts in France, two in Germany."""
    return {
        "fr": [factories.contact(email=f"fr{n}@example.com", country="FR") for n in range(3)],
        "de": [factories.contact(email=f"de{n}@example.com", country="DE") for n in range(2)],
    }


def test_listing_offers_the_bulk_form_and_a_checkbox_per_contact(admin_client, people):
    html = admin_client.get(LISTING, {"country": "FR"}).content.decode()
    assert 'id="wsg-bulk"' in html and 'name="filters" value="country=FR"' in html
    assert html.count('form="wsg-bulk"') == 3
    assert "All 3 contacts these filters match" in html


def test_everyone_matching_reapplies_the_filters_and_confirms_the_count(admin_client, people):
    static = segment(kind="static", name="Newsletter", build=False)
    query = {"action": "add_to_segment", "scope": "all", "filters": "country=FR"}
    page = admin_client.get(BULK, query).content.decode()
    assert 'data-wsg-bulk-count="3"' in page
    assert Membership.objects.count() == 0  # nothing happens before the confirmation

    response = admin_client.post(BULK, {**query, "up_to": str(Contact.objects.latest("pk").pk), "segment": static.pk})
    assert response.status_code == 302 and response.url.endswith("?country=FR")
    assert set(static.members().values_list("email", flat=True)) == {"fr0@example.com", "fr1@example.com", "fr2@example.com"}
    entry = ModelLogEntry.objects.get(action=audit.MEMBERS_ADDED)
    assert entry.object_id == str(static.pk) and entry.data["count"] == 3


def test_contacts_created_after_the_count_are_not_swept_in(admin_client, people):
    static = segment(kind="static", build=False)
    up_to = Contact.objects.latest("pk").pk
    factories.contact(email="late@example.com", country="FR")
    admin_client.post(BULK, {"action": "add_to_segment", "scope": "all", "filters": "country=FR",
                             "up_to": str(up_to), "segment": static.pk})
    assert static.members().count() == 3


def test_selected_contacts_get_and_lose_a_tag(admin_client, people):
    chosen = [c.pk for c in people["de"]]
    admin_client.post(BULK, {"action": "add_tag", "scope": "selected", "id": chosen, "tag": "Trade fair"})
    assert set(TaggedContact.objects.values_list("content_object_id", flat=True)) == set(chosen)
    admin_client.post(BULK, {"action": "remove_tag", "scope": "selected", "id": chosen[:1], "tag": "trade fair"})
    assert list(TaggedContact.objects.values_list("content_object_id", flat=True)) == chosen[1:]
    assert ModelLogEntry.objects.filter(action=audit.CONTACTS_TAGGED, object_id="*").count() == 1


def test_removing_a_tag_in_bulk_tells_listeners_which_contacts_lost_it(admin_client, people):
    from django.db.models.signals import m2m_changed

    chosen = [c.pk for c in people["fr"]]
    admin_client.post(BULK, {"action": "add_tag", "scope": "selected", "id": chosen[:2], "tag": "Trade fair"})
    heard = []

    def receiver(sender, **kwargs):
        heard.append((kwargs["action"], kwargs["instance"].name, kwargs["pk_set"]))

    m2m_changed.connect(receiver, sender=TaggedContact, dispatch_uid="test-bulk-untag")
    try:
        admin_client.post(BULK, {"action": "remove_tag", "scope": "selected", "id": chosen, "tag": "TRADE FAIR"})
    finally:
        m2m_changed.disconnect(sender=TaggedContact, dispatch_uid="test-bulk-untag")

    assert heard == [("pre_remove", "Trade fair", set(chosen[:2])), ("post_remove", "Trade fair", set(chosen[:2]))]
    assert not TaggedContact.objects.exists()


def test_adding_a_tag_in_bulk_enrols_the_newly_tagged_in_its_campaign_and_answers_waiting_decisions(
        admin_client, people, django_capture_on_commit_callbacks):
    from tests.test_campaign_decisions import decision_campaign
    from wagtail_segments.campaigns.entry import enrol
    from wagtail_segments.campaigns.executor import run_due_steps
    from wagtail_segments.campaigns.models import Run

    fair = factories.campaign(name="After the fair", entry_tag="Trade fair")
    factories.chain(fair, ("wait", {"days": 1}))
    asked, _fork = decision_campaign(did="tagged", tag="trade fair", days=30)
    waiting, already, other = people["fr"]
    enrol(asked, [waiting])
    already.tags.add("Trade fair")
    Run.objects.filter(campaign=fair).delete()  # already's own tagging enrolled it: start clean

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(BULK, {"action": "add_tag", "scope": "all", "filters": "country=FR",
                                 "up_to": str(Contact.objects.latest("pk").pk), "tag": "Trade fair"})

    entered = set(Run.objects.filter(campaign=fair).values_list("contact_id", flat=True))
    assert entered == {waiting.pk, other.pk}  # not the contact that had the tag already, nor anyone in DE
    run_due_steps()
    assert sorted(waiting.tags.names()) == ["Trade fair", "yes"]


@override_settings(WAGTAIL_SEGMENTS={"ADMIN_BULK_TASK_THRESHOLD": 2})
def test_a_tag_added_by_the_bulk_task_enrols_too(admin_client, people, monkeypatch,
                                                 django_capture_on_commit_callbacks):
    from wagtail_segments.campaigns.models import Run

    queued = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda func, *args, **kwargs: queued.append(args))
    fair = factories.campaign(name="After the fair", entry_tag="trade fair")
    factories.chain(fair, ("wait", {"days": 1}))
    admin_client.post(BULK, {"action": "add_tag", "scope": "all", "filters": "", "tag": "Trade fair"})

    with django_capture_on_commit_callbacks(execute=True):
        run_bulk_task(*queued[0])

    assert Run.objects.filter(campaign=fair).count() == 5


def test_search_is_reapplied_too(admin_client, people):
    response = admin_client.get(BULK, {"action": "delete", "scope": "all", "filters": "q=de1%40example"})
    assert 'data-wsg-bulk-count="1"' in response.content.decode()


def test_export_streams_a_csv_and_is_audited(admin_client, people):
    people["fr"][0].tags.add("vip")
    response = admin_client.post(BULK, {"action": "export", "scope": "all", "filters": "country=FR"})
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = body.strip().splitlines()
    assert lines[0].startswith("email,first_name") and len(lines) == 4
    assert any("fr0@example.com" in line and "vip" in line for line in lines)
    entry = ModelLogEntry.objects.get(action=audit.CONTACTS_EXPORTED)
    assert entry.data["filters"] == "country=FR" and entry.user.is_superuser


def test_delete_removes_only_the_selected(admin_client, people):
    admin_client.post(BULK, {"action": "delete", "scope": "selected", "id": [people["fr"][0].pk]})
    assert Contact.objects.count() == 4 and not Contact.objects.filter(email="fr0@example.com").exists()


@pytest.mark.parametrize("action, needs", [
    ("export", "export_contacts"), ("delete", "delete_contact"),
    ("add_tag", "change_contact"), ("add_to_segment", "change_segment"),
])
def test_each_action_needs_its_permission(client, people, action, needs):
    client.force_login(editor("clerk", "view_contact"))
    data = {"action": action, "scope": "selected", "id": [people["fr"][0].pk], "tag": "x"}
    assert client.get(BULK, data).status_code == 403
    assert client.post(BULK, data).status_code == 403
    assert Contact.objects.count() == 5 and not TaggedContact.objects.exists()
    assert not ModelLogEntry.objects.exists()
    client.force_login(editor("boss", "view_contact", needs))
    assert client.get(BULK, data).status_code == 200


def test_the_listing_offers_only_permitted_actions(client, people):
    client.force_login(editor("clerk", "view_contact", "change_contact"))
    html = client.get(LISTING).content.decode()
    assert "Add a tag" in html and "Export as CSV" not in html and "Delete" not in html.split('id="wsg-bulk"')[1].split("</form>")[0]


@override_settings(WAGTAIL_SEGMENTS={"ADMIN_BULK_TASK_THRESHOLD": 2})
def test_a_large_set_runs_as_a_task_with_progress(admin_client, people, monkeypatch):
    queued = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda func, *args, **kwargs: queued.append(args))
    static = segment(kind="static", build=False)
    response = admin_client.post(BULK, {"action": "add_to_segment", "scope": "all", "filters": "",
                                        "segment": static.pk})
    assert response.status_code == 302 and static.members().count() == 0
    job = queued[0][0]
    progress = admin_client.get(response.url).content.decode()
    assert "0 of 5 contacts done" in progress

    assert run_bulk_task(*queued[0]) == 5
    assert static.members().count() == 5 and cache.get(progress_key(job))["finished"]
    assert "Finished: 5 contacts changed." in admin_client.get(response.url).content.decode()
