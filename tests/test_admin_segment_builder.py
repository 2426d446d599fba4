"""The segment edit screen's rule builder: the live preview of unsaved rules (same compiler,
a time limit, problems shown), the "edit segment rules" permission, choosers, and the audit
log of rule changes."""

from html import unescape

import pytest
from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.test import override_settings
from wagtail.models import ModelLogEntry

from tests import factories
from tests.admin_helpers import editor, segment_form
from tests.segment_helpers import group, rule, segment
from wagtail_segments.admin.audit import RULES_CHANGED
from wagtail_segments.models import Contact, Segment
from wagtail_segments.segments.rules import Rule, registry

pytestmark = pytest.mark.django_db

PREVIEW = "/admin/marketing/segments/preview/"


def tagged(email: str, *tags: str) -> Contact:
    contact = factories.contact(email=email)
    contact.tags.add(*tags)
    return contact


def test_preview_counts_the_unsaved_rules_and_lists_the_newest(admin_client):
    tagged("a@example.com", "vip")
    tagged("b@example.com", "vip", "lead")
    tagged("c@example.com", "lead")

    html = admin_client.post(PREVIEW, segment_form(rule("tags", operator="any", tags="vip"))).content.decode()
    assert 'data-wsg-preview-count="2"' in html
    assert html.index("b@example.com") < html.index("a@example.com")
    assert "c@example.com" not in html
    assert not Segment.objects.exists()


def test_preview_counts_every_match_and_lists_the_newest_twenty(admin_client):
    """One query answers both: the count is of all matches, not of the 20 shown. A rule that
    counts events per contact (grouped in the database) decides who matches."""
    pricing = factories.content_page("Pricing")
    contacts = [factories.contact(email=f"c{n:03}@example.com") for n in range(66)]
    for n, contact in enumerate(contacts):
        for _view in range(n % 3):
            factories.event(contact, "page_view", page=pricing)
    matching = [c for n, c in enumerate(contacts) if n % 3 == 2]  # 22 with two views

    html = admin_client.post(PREVIEW, segment_form(
        rule("page_views", page=pricing.pk, count=2, window="ever"))).content.decode()
    assert 'data-wsg-preview-count="22"' in html
    shown = [c for c in contacts if c.email in html]
    assert shown == sorted(matching, key=lambda c: c.pk)[2:]
    positions = [html.index(c.email) for c in shown]
    assert positions == sorted(positions, reverse=True)  # newest first


def test_preview_of_a_nested_group(admin_client):
    pricing = factories.content_page("Pricing")
    viewer = tagged("viewer@example.com", "lead")
    factories.event(viewer, "page_view", page=pricing)
    tagged("vip@example.com", "vip")
    tagged("other@example.com", "lead")
    rules = [group("any", rule("tags", tags="vip"), rule("page_views", page=pricing.pk))]

    html = admin_client.post(PREVIEW, segment_form(*rules)).content.decode()
    assert 'data-wsg-preview-count="2"' in html
    html = admin_client.post(PREVIEW, segment_form(*rules, rule("tags", tags="lead"))).content.decode()
    assert 'data-wsg-preview-count="1"' in html and "viewer@example.com" in html


def test_preview_names_a_rule_whose_page_was_deleted(admin_client):
    """The page chooser drops a deleted page, so the rule reads as having none."""
    gone = factories.content_page("Gone")
    gone_id = gone.pk
    gone.delete()
    html = admin_client.post(PREVIEW, segment_form(rule("page_views", page=gone_id))).content.decode()
    assert "Rule 1 (Page views): No page chosen." in html


def test_incomplete_rules_answer_with_the_problem(admin_client):
    html = admin_client.post(PREVIEW, segment_form(rule("form_submitted", page=None))).content.decode()
    assert "cannot be previewed yet" in html and "Rule 1, page: This field is required." in html


def test_a_field_the_choosers_do_not_offer_is_refused(admin_client):
    """The choices read from the database (contact fields and properties, form fields) still
    bound what a rule may name."""
    form = factories.form_page("Newsletter", fields=[("Team size", "singleline")])
    html = admin_client.post(PREVIEW, segment_form(
        rule("contact_field", field="properties.undeclared", operator="eq", value="x"),
        rule("form_submitted", page=form.pk, answer_field="not_a_field"),
    )).content.decode()
    assert "cannot be previewed yet" in html
    assert "Rule 1, field: Select a valid choice." in html
    assert "Rule 2, answer field: Select a valid choice." in html
    html = admin_client.post(PREVIEW, segment_form(
        rule("form_submitted", page=form.pk, answer_field="team_size"))).content.decode()
    assert 'data-wsg-preview-count="0"' in html


def test_preview_refuses_a_cycle(admin_client):
    a = segment(rule("tags", tags="x"), name="A", slug="a")
    b = segment(rule("segment", segment=str(a.pk)), name="B", slug="b")
    data = segment_form(rule("segment", segment=str(b.pk)), segment_id=str(a.pk))
    assert "depend on itself" in admin_client.post(PREVIEW, data).content.decode()


class SlowRule(Rule):
    """A rule whose query takes seconds on any database: counting to fifty million."""

    name = "slow_for_test"
    label = "Slow"

    def child_blocks(self):
        return []

    def compile(self, value, context):
        slow = "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 50000000) SELECT max(x) FROM n"
        return Q(pk__lt=RawSQL(slow, []))


@pytest.fixture
def slow_rule():
    registry.register(SlowRule)
    yield
    registry.unregister(SlowRule.name)


@override_settings(WAGTAIL_SEGMENTS={"ADMIN_PREVIEW_TIMEOUT_MS": 100})
def test_a_count_past_the_time_limit_says_still_counting(admin_client, slow_rule):
    import time

    factories.contact(email="a@example.com")
    started = time.monotonic()
    html = admin_client.post(PREVIEW, segment_form({"type": "slow_for_test", "value": {}})).content.decode()
    assert time.monotonic() - started < 3
    assert 'data-wsg-preview-count="counting"' in html and "Still counting" in html
    # The request's connection is usable afterwards (no statement timeout or handler left).
    assert Contact.objects.count() == 1


def test_preview_needs_a_segment_permission(client):
    client.force_login(editor("nobody"))
    assert client.post(PREVIEW, segment_form()).status_code == 403
    client.force_login(editor("viewer", "view_segment"))
    assert client.post(PREVIEW, segment_form()).status_code == 200


def test_preview_is_post_only(admin_client):
    assert admin_client.get(PREVIEW).status_code == 405


def test_editing_rules_needs_the_permission(client):
    vip = segment(rule("tags", tags="vip"), name="VIPs", slug="vips")
    client.force_login(editor("writer", "change_segment"))
    url = f"/admin/wagtail_segments/segment/edit/{vip.pk}/"
    page = client.get(url).content.decode()
    assert "rules-count" not in page and "Can edit segment rules" in page
    assert "data-wsg-rules-preview" not in page

    response = client.post(url, segment_form(rule("tags", tags="everyone"), name="Renamed", slug="vips"))
    assert response.status_code == 302
    vip.refresh_from_db()
    assert vip.name == "Renamed" and vip.rules.raw_data[0]["value"]["tags"] == "vip"
    assert not ModelLogEntry.objects.filter(action=RULES_CHANGED).exists()


def test_a_rules_change_is_in_the_audit_log_with_its_editor(client):
    vip = segment(rule("tags", tags="vip"), name="VIPs", slug="vips")
    user = editor("writer", "change_segment", "edit_segment_rules")
    client.force_login(user)
    url = f"/admin/wagtail_segments/segment/edit/{vip.pk}/"
    assert "data-wsg-rules-preview" in client.get(url).content.decode()

    client.post(url, segment_form(rule("tags", tags="vip"), name="VIPs", slug="vips"))
    assert not ModelLogEntry.objects.filter(action=RULES_CHANGED).exists()  # a re-save
    client.post(url, segment_form(rule("tags", tags="gold"), name="VIPs", slug="vips"))
    entry = ModelLogEntry.objects.get(action=RULES_CHANGED)
    assert entry.user == user and entry.object_id == str(vip.pk)
    assert entry.data["rules"][0]["value"]["tags"] == "gold"
    assert entry.data["previous_rules"][0]["value"]["tags"] == "vip"
    history = client.get(f"/admin/wagtail_segments/segment/history/{vip.pk}/").content.decode()
    assert "Segment rules changed" in history


def test_form_field_chooser_offers_each_forms_fields_by_label(admin_client):
    factories.form_page("Newsletter", fields=[("Team size", "singleline"), ("Email", "email")])
    html = admin_client.get("/admin/wagtail_segments/segment/create/").content.decode()
    assert "Team size" in html and "data-form-page" in html


def test_declared_properties_are_offered_with_their_type(admin_client):
    from wagtail_segments.models import PropertyDefinition

    PropertyDefinition.objects.create(key="plan", label="Plan", type="text")
    PropertyDefinition.objects.create(key="seats", label="Seats", type="number")
    html = admin_client.get("/admin/wagtail_segments/segment/create/").content.decode()
    assert "Plan (Text)" in html and "Seats (Number)" in html


def test_a_tag_with_spaces_from_the_tag_widget_matches(admin_client):
    tagged("a@example.com", "big customer")
    html = admin_client.post(PREVIEW, segment_form(rule("tags", tags='"big customer", other'))).content.decode()
    assert 'data-wsg-preview-count="1"' in html


def test_the_country_rule_chooses_countries_by_name(admin_client):
    factories.contact(email="ann@example.com", country="FR")
    factories.contact(email="bob@example.com", country="DE")
    factories.contact(email="cy@example.com", country="US")

    html = unescape(admin_client.get("/admin/wagtail_segments/segment/create/").content.decode())
    assert 'class=\\"wsg-countries\\" id=\\"__ID__\\" multiple>' in html  # the block's select, as JSON
    assert '<option value=\\"FR\\">France</option>' in html

    preview = admin_client.post(PREVIEW, segment_form(rule("country", countries=["FR", "DE"]))).content.decode()
    assert 'data-wsg-preview-count="2"' in preview
    response = admin_client.post("/admin/wagtail_segments/segment/create/",
                                 segment_form(rule("country", countries=["FR", "DE"]), name="Europe", slug="europe"))
    assert response.status_code == 302
    assert Segment.objects.get(slug="europe").rules.raw_data[0]["value"]["countries"] == "FR, DE"


def test_a_country_rules_unknown_code_stays_selected_and_is_kept(admin_client):
    old = segment(rule("country", countries="uk, fr"), name="Old", slug="old")
    url = f"/admin/wagtail_segments/segment/edit/{old.pk}/"

    html = unescape(admin_client.get(url).content.decode())
    assert '<option value=\\"UK\\">UK (not a known country code)</option>' in html  # among the options
    assert '"value": {"countries": ["UK", "FR"]' in html  # and selected, "fr" as France

    response = admin_client.post(url, segment_form(rule("country", countries=["UK", "FR"]), name="Renamed", slug="old"))
    assert response.status_code == 302
    old.refresh_from_db()
    assert (old.name, old.rules.raw_data[0]["value"]["countries"]) == ("Renamed", "UK, FR")


def test_a_country_rule_refuses_a_code_no_country_and_no_segment_has(admin_client):
    response = admin_client.post("/admin/wagtail_segments/segment/create/",
                                 segment_form(rule("country", countries=["ZZ"]), name="Nowhere", slug="nowhere"))
    assert response.status_code == 200
    assert not Segment.objects.filter(slug="nowhere").exists()
