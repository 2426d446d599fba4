"""The example site's demo data: the six segments a small organisation starts with."""

from collections import Counter

import pytest
from django.core.management import call_command
from django.db import transaction

from wagtail.models import Page

from example_site.pages.models import ContentPage
from wagtail_segments.models import Contact
from wagtail_segments.segments.evaluation import evaluate_contacts
from wagtail_segments.segments.models import Membership, Segment

pytestmark = pytest.mark.django_db

SLUGS = {"leads", "subscribers", "customers", "donors", "attendees", "members"}


@pytest.fixture(scope="module")
def _demo_loaded(django_db_setup, django_db_blocker):
    """The demo, loaded once for the module inside a transaction rolled back at its end: each
    test's own transaction is a savepoint inside it, so a test's changes still do not leak."""
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("load_demo", contacts=60, verbosity=0)
        yield
        transaction.set_rollback(True)


@pytest.fixture
def demo(_demo_loaded, db):
    return None


def members(slug: str) -> set[int]:
    return set(
        Membership.objects.filter(segment__slug=slug, excluded=False)
        .values_list("contact_id", flat=True)
    )


def test_the_six_segments_exist_built_and_mostly_dynamic(demo):
    segments = {s.slug: s for s in Segment.objects.all()}
    assert SLUGS <= segments.keys()
    assert segments["donors"].kind == Segment.Kind.STATIC
    for slug in SLUGS - {"donors"}:
        segment = segments[slug]
        assert segment.kind == Segment.Kind.DYNAMIC
        assert segment.last_rebuilt_at is not None
        assert segment.rule_problems == [], (slug, segment.rule_problems)
    for slug in ("leads", "subscribers", "customers", "donors", "attendees"):
        assert members(slug), f"{slug} has no members in the demo"


def test_a_contact_can_be_in_several_segments(demo):
    counts = Counter(Membership.objects.filter(excluded=False).values_list("contact_id", flat=True))
    assert max(counts.values()) > 1


def test_segments_follow_their_rules(demo):
    customers = members("customers")
    tagged = Contact.objects.filter(tags__name="customer").values_list("pk", flat=True)
    assert customers == set(tagged)
    assert not members("leads") & customers
    assert all(c.email for c in Contact.objects.filter(pk__in=members("leads")))


def test_a_lead_who_becomes_a_customer_moves_from_leads_to_customers(demo):
    lead = Contact.objects.filter(pk__in=members("leads")).order_by("pk").first()
    assert lead is not None
    lead.tags.add("customer")
    evaluate_contacts([lead.pk])
    assert lead.pk not in members("leads")
    assert lead.pk in members("customers")


def test_running_it_again_changes_no_segment(demo):
    before = {slug: members(slug) for slug in SLUGS}
    segment_ids = set(Segment.objects.values_list("pk", flat=True))
    call_command("load_demo", contacts=60, verbosity=0)
    assert set(Segment.objects.values_list("pk", flat=True)) == segment_ids
    assert {slug: members(slug) for slug in SLUGS} == before


def test_the_pricing_page_has_variants_for_customers_and_leads(demo, client):
    pricing = ContentPage.objects.get(slug="pricing")
    block = pricing.personalised[0]
    assert block.block_type == "personalised"
    assert [list(v["segments"]) for v in block.value["variants"]] == [["customers"], ["leads"]]
    response = client.get(pricing.url)
    assert b"Try it free for 14 days" in response.content


@pytest.mark.django_db
def test_the_example_sites_logout_returns_to_the_home_page(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("ann", password="pw"))
    response = client.post("/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/"


CAMPAIGNS = {"Welcome", "Re-engagement", "Newsletter (December)", "Lead nurture", "Turns 18", "Renewal"}


def test_the_demo_campaigns_are_valid_and_all_but_the_newsletter_active(demo):
    from wagtail_segments.campaigns.models import Campaign
    from wagtail_segments.campaigns.steps import validate_tree

    campaigns = {c.name: c for c in Campaign.objects.all()}
    assert CAMPAIGNS <= campaigns.keys()
    for name in CAMPAIGNS:
        assert validate_tree(campaigns[name]) == [], name
    assert {n for n in CAMPAIGNS if campaigns[n].status == "active"} == CAMPAIGNS - {"Newsletter (December)"}
    call_command("load_demo", contacts=60, verbosity=0)  # again: nothing duplicated
    assert Campaign.objects.filter(name="Welcome").count() == 1


def test_the_welcome_campaign_emails_a_newsletter_subscriber_with_a_preference_link(demo, client, django_capture_on_commit_callbacks):
    from django.core import mail

    from wagtail_segments.campaigns.executor import run_due_steps
    from wagtail_segments.contacts.tasks import process_new_events

    newsletter = Page.objects.get(slug="newsletter")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(newsletter.url, {"email": "new.reader@example.com", "first_name": "Noor"},
                               HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0")
    assert response.status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        process_new_events()
    run_due_steps()
    [welcome] = [m for m in mail.outbox if m.to == ["new.reader@example.com"]]
    assert welcome.subject == "Welcome to Example Co., Noor"
    html = welcome.alternatives[0][0]
    assert "/_segments/p/" in html and "List-Unsubscribe" in welcome.extra_headers


def test_the_demo_forms_have_mappings_an_editor_keeps_and_submissions_follow(demo, admin_client):
    from wagtail.contrib.forms.models import FormSubmission

    from example_site.pages.models import FormPage
    from wagtail_segments.models import FormMapping

    contact_form = FormPage.objects.get(slug="contact")
    assert FormMapping.objects.count() == 3
    assert FormMapping.objects.get(page=contact_form).targets == {"message": None}
    assert not any("message" in c.properties for c in Contact.objects.all())  # as the mapping says
    html = admin_client.get("/admin/marketing/forms/").content.decode()
    assert "Contact us" in html and "Renew your subscription" in html

    FormMapping.objects.filter(page=contact_form).update(targets={})  # an editor's change
    call_command("load_demo", contacts=60, verbosity=0)
    assert FormMapping.objects.count() == 3 and FormMapping.objects.get(page=contact_form).targets == {}

    FormSubmission.objects.create(page=contact_form, form_data={"email": "new@example.com", "message": "Hi"})
    assert Contact.objects.get(email="new@example.com").properties == {"message": "Hi"}


def test_the_demo_phones_are_numbers_a_text_can_go_to(demo):
    """Fictional but valid numbers: the newsletter's SMS branch sends to the console, not nowhere."""
    phones = list(Contact.objects.exclude(phone="").values_list("phone", "phone_e164"))
    assert len(phones) >= 5
    assert all(e164.startswith("+") for _phone, e164 in phones), phones
