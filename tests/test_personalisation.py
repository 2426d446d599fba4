"""Personalised content: the ``{% if_segment %}`` tag and PersonalisedContentBlock read the
visitor's stored memberships, once per request, never for a visitor without a cookie, and
only ever for exactly the contact the cookie names."""

import uuid

import pytest
from django.db import connection
from django.http import HttpResponse
from django.template import Context, Template, TemplateSyntaxError
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from tests import factories
from wagtail_segments.conf import settings as conf
from wagtail_segments.contacts.identity import (
    apply_contact_cookie,
    merge_contacts,
    set_visitor_contact,
)
from wagtail_segments.contacts.request_state import request_state
from wagtail_segments.segments.content_blocks import PersonalisedContentBlock, segment_choices
from wagtail_segments.segments.models import Membership, Segment
from wagtail_segments.segments.personalisation import visitor_in_segment, visitor_segment_slugs

pytestmark = pytest.mark.django_db


# --------------------------------------------------------------------------- helpers


def cookie_for(contact_id: int) -> str:
    request = RequestFactory().get("/")
    set_visitor_contact(request, contact_id)
    return apply_contact_cookie(request, HttpResponse()).cookies[conf.COOKIE_NAME].value


def visitor(contact=None, cookie: str | None = None):
    """A request from a visitor whose cookie names ``contact`` (or carries ``cookie`` as is)."""
    request = RequestFactory().get("/")
    if contact is not None:
        request.COOKIES[conf.COOKIE_NAME] = cookie_for(contact.pk)
    elif cookie is not None:
        request.COOKIES[conf.COOKIE_NAME] = cookie
    return request


def segment(slug: str, **fields) -> Segment:
    fields.setdefault("name", slug.title())
    fields.setdefault("kind", Segment.Kind.STATIC)
    return Segment.objects.create(slug=slug, **fields)


def member(contact, *segments, excluded: bool = False) -> None:
    for seg in segments:
        Membership.objects.create(
            segment=seg, contact=contact, source=Membership.Source.MANUAL, excluded=excluded
        )


def render(source: str, request=None, **context) -> str:
    if request is not None:
        context["request"] = request
    return Template("{% load wagtail_segments %}" + source).render(Context(context)).strip()


IF_CUSTOMER = '{% if_segment "customers" %}customer{% else %}other{% endif_segment %}'


def text_block(html: str) -> dict:
    return {"type": "text", "value": html}


def variant(*slugs: str, text: str) -> dict:
    return {
        "type": "item", "id": str(uuid.uuid4()),
        "value": {"segments": list(slugs), "content": [text_block(f"<p>{text}</p>")]},
    }


def block_value(*variants: dict, fallback: str = "everyone else"):
    block = PersonalisedContentBlock()
    raw = {"variants": list(variants), "fallback": [text_block(f"<p>{fallback}</p>")]}
    return block, block.to_python(raw)


def render_block(block, value, request) -> str:
    return str(block.render(value, context={"request": request} if request is not None else {}))


@pytest.fixture
def customers():
    return segment("customers")


@pytest.fixture
def leads():
    return segment("leads")


# --------------------------------------------------------------------------- the tag


def test_tag_shows_members_the_first_branch(customers):
    contact = factories.contact()
    member(contact, customers)
    assert render(IF_CUSTOMER, visitor(contact)) == "customer"


def test_tag_shows_non_members_the_else_branch(customers, leads):
    contact = factories.contact()
    member(contact, leads)
    assert render(IF_CUSTOMER, visitor(contact)) == "other"
    assert render('{% if_segment "customers" %}customer{% endif_segment %}', visitor(contact)) == ""


def test_a_contact_excluded_by_hand_is_not_a_member(customers):
    contact = factories.contact()
    member(contact, customers, excluded=True)
    assert render(IF_CUSTOMER, visitor(contact)) == "other"


def test_an_inactive_segment_has_no_members_for_personalisation(customers):
    contact = factories.contact()
    member(contact, customers)
    customers.active = False
    customers.save()
    assert render(IF_CUSTOMER, visitor(contact)) == "other"


def test_several_slugs_mean_any_of_them(customers, leads):
    contact = factories.contact()
    member(contact, leads)
    source = '{% if_segment "customers" "leads" %}yes{% else %}no{% endif_segment %}'
    assert render(source, visitor(contact)) == "yes"
    assert render(source, visitor(factories.contact())) == "no"


def test_slugs_may_be_variables_or_lists(customers, leads):
    contact = factories.contact()
    member(contact, leads)
    request = visitor(contact)
    source = "{% if_segment wanted %}yes{% else %}no{% endif_segment %}"
    assert render(source, request, wanted="leads") == "yes"
    assert render(source, request, wanted="customers") == "no"
    assert render(source, request, wanted=["customers", "leads"]) == "yes"
    assert render(source, request) == "no"  # an undefined variable names no segment
    assert render(source, request, wanted=None) == "no"


def test_without_a_request_in_the_context_the_else_branch_renders(
    customers, django_assert_num_queries
):
    with django_assert_num_queries(0):
        assert render(IF_CUSTOMER) == "other"


def test_the_tag_needs_a_slug():
    with pytest.raises(TemplateSyntaxError):
        Template("{% load wagtail_segments %}{% if_segment %}x{% endif_segment %}")


def test_nested_tags_and_blocks_render_their_own_branches(customers, leads):
    contact = factories.contact()
    member(contact, leads)
    source = (
        '{% if_segment "customers" %}C{% else %}'
        '{% if_segment "leads" %}L{% else %}-{% endif_segment %}'
        "{% endif_segment %}"
    )
    assert render(source, visitor(contact)) == "L"


# --------------------------------------------------------------------------- query cost


def test_a_visitor_without_a_cookie_costs_no_query(customers, django_assert_num_queries):
    request = visitor()
    block, value = block_value(variant("customers", text="for customers"))
    with django_assert_num_queries(0):
        assert render(IF_CUSTOMER + IF_CUSTOMER, request) == "otherother"
        assert "everyone else" in render_block(block, value, request)
    assert request_state(request).personalised is True  # the anonymous version must not be shared either


def test_a_visitor_with_a_cookie_costs_one_query_for_any_number_of_tags(customers, leads):
    contact = factories.contact()
    member(contact, customers)
    request = visitor(contact)
    block, value = block_value(
        variant("leads", text="for leads"), variant("customers", text="for customers")
    )
    with CaptureQueriesContext(connection) as queries:
        html = render(IF_CUSTOMER * 5 + '{% if_segment "leads" %}L{% endif_segment %}', request)
        block_html = render_block(block, value, request)
        assert visitor_in_segment(request, "customers")
    assert html == "customer" * 5
    assert "for customers" in block_html
    assert len(queries.captured_queries) == 1
    assert "wagtail_segments_membership" in queries.captured_queries[0]["sql"]


def test_the_query_does_not_grow_with_the_number_of_segments(django_assert_num_queries):
    contact = factories.contact()
    member(contact, *[segment(f"segment-{n}") for n in range(12)])
    request = visitor(contact)
    with django_assert_num_queries(1):
        slugs = visitor_segment_slugs(request)
    assert slugs == frozenset(f"segment-{n}" for n in range(12))


def test_a_forged_cookie_reads_as_no_contact_and_costs_no_query(
    customers, django_assert_num_queries
):
    contact = factories.contact()
    member(contact, customers)
    genuine = cookie_for(contact.pk)
    forged = str(contact.pk + 1) + genuine[len(str(contact.pk)):]
    other = factories.contact()
    member(other, customers)
    for cookie in (forged, str(contact.pk), f"{contact.pk}:x:y", "garbage"):
        with django_assert_num_queries(0):
            assert render(IF_CUSTOMER, visitor(cookie=cookie)) == "other"


# --------------------------------------------------------------------------- merged contacts


def test_a_cookie_of_a_merged_away_contact_does_not_see_the_survivors_segments(customers):
    """Someone typed a customer's email into a form: their anonymous contact was merged into
    the customer's, but their cookie still names the merged-away row. They must not be shown
    the customer's content."""
    victim = factories.contact(email="customer@example.com")
    member(victim, customers)
    intruder = factories.contact()
    merge_contacts(intruder, victim)
    intruder.refresh_from_db()
    assert intruder.merged_into_id == victim.pk
    assert render(IF_CUSTOMER, visitor(intruder)) == "other"
    block, value = block_value(variant("customers", text="customer pricing"))
    assert "customer pricing" not in render_block(block, value, visitor(intruder))
    assert render(IF_CUSTOMER, visitor(victim)) == "customer"


def test_a_merged_away_contact_sees_no_segments_even_with_rows_left_under_its_id(customers, leads):
    survivor = factories.contact(email="known@example.com")
    member(survivor, customers)
    merged = factories.contact(merged_into=survivor)
    member(merged, leads)  # e.g. written by a stale task after the merge
    assert visitor_segment_slugs(visitor(merged)) == frozenset()


# --------------------------------------------------------------------------- the block


def test_block_shows_the_first_matching_variant_in_the_editors_order(customers, leads):
    contact = factories.contact()
    member(contact, customers, leads)
    first_customers = block_value(variant("customers", text="C"), variant("leads", text="L"))
    first_leads = block_value(variant("leads", text="L"), variant("customers", text="C"))
    assert "<p>C</p>" in render_block(*first_customers, visitor(contact))
    assert "<p>L</p>" not in render_block(*first_customers, visitor(contact))
    assert "<p>L</p>" in render_block(*first_leads, visitor(contact))
    assert "<p>C</p>" not in render_block(*first_leads, visitor(contact))


def test_a_variant_with_several_segments_matches_any_of_them(customers, leads):
    contact = factories.contact()
    member(contact, leads)
    block, value = block_value(variant("customers", "leads", text="both"))
    assert "both" in render_block(block, value, visitor(contact))


def test_block_shows_the_fallback_to_outsiders_excluded_members_and_inactive_segments(
    customers, leads
):
    block, value = block_value(variant("customers", text="C"))
    outsider = factories.contact()
    member(outsider, leads)
    excluded = factories.contact()
    member(excluded, customers, excluded=True)
    for contact in (outsider, excluded):
        html = render_block(block, value, visitor(contact))
        assert "everyone else" in html and "<p>C</p>" not in html
    member_contact = factories.contact()
    member(member_contact, customers)
    assert "<p>C</p>" in render_block(block, value, visitor(member_contact))
    Segment.objects.filter(pk=customers.pk).update(active=False)
    assert "everyone else" in render_block(block, value, visitor(member_contact))


def test_a_variant_naming_a_deleted_segment_never_matches(customers, leads):
    contact = factories.contact()
    member(contact, customers, leads)
    block, value = block_value(variant("customers", text="C"), variant("leads", text="L"))
    customers.delete()
    html = render_block(block, value, visitor(contact))
    assert "<p>L</p>" in html and "<p>C</p>" not in html
    # A segment re-created later under the same slug starts with no members.
    segment("customers")
    assert "<p>C</p>" not in render_block(block, value, visitor(contact))


def test_block_without_a_request_or_variants_shows_the_fallback_and_costs_nothing(
    customers, django_assert_num_queries
):
    contact = factories.contact()
    member(contact, customers)
    block, value = block_value(variant("customers", text="C"))
    empty_block, empty_value = block_value()
    request = visitor(contact)
    with django_assert_num_queries(0):
        assert "everyone else" in render_block(block, value, None)
        assert "everyone else" in render_block(empty_block, empty_value, request)
    assert not request_state(request).personalised  # nothing on it depends on segments


def test_block_choices_are_segments_by_slug(customers, leads):
    segment("lapsed", name="Lapsed", active=False)
    choices = dict(segment_choices())
    assert choices["customers"] == "Customers" and choices["leads"] == "Leads"
    assert "inactive" in str(choices["lapsed"])


def test_content_for_segments_is_not_indexed_for_search(customers):
    block, value = block_value(
        variant("customers", text="secret discount code"), fallback="public offer"
    )
    searchable = " ".join(block.get_searchable_content(value))
    assert "public offer" in searchable
    assert "secret discount" not in searchable


def test_a_site_may_pass_its_own_content_blocks(customers):
    from wagtail import blocks

    block = PersonalisedContentBlock(content=[("heading", blocks.CharBlock())])
    value = block.to_python({
        "variants": [
            {"segments": ["customers"], "content": [{"type": "heading", "value": "Hi customer"}]},
        ],
        "fallback": [{"type": "heading", "value": "Hello"}],
    })
    contact = factories.contact()
    member(contact, customers)
    assert "Hi customer" in render_block(block, value, visitor(contact))
    assert "Hello" in render_block(block, value, visitor())


def test_a_site_template_gets_the_chosen_content(customers):
    block = PersonalisedContentBlock()
    contact = factories.contact()
    member(contact, customers)
    _, value = block_value(variant("customers", text="C"))
    context = block.get_context(value, parent_context={"request": visitor(contact)})
    assert "<p>C</p>" in str(context["content"].render_as_block())


# --------------------------------------------------------------------------- whole pages


PERSONALISED_STREAM = [{
    "type": "personalised",
    "value": {
        "variants": [
            variant("customers", text="Customer offer"), variant("leads", text="Lead offer"),
        ],
        "fallback": [text_block("<p>Trial offer</p>")],
    },
}]


def personalised_page():
    page = factories.content_page("Pricing")
    page.personalised = PERSONALISED_STREAM
    page.save()
    return page


def membership_reads(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if "wagtail_segments_membership" in q["sql"]]


def with_cookie(client, contact):
    client.cookies[conf.COOKIE_NAME] = cookie_for(contact.pk)
    return client


def test_a_page_shows_each_visitor_their_variant(browser_client, customers, leads):
    page = personalised_page()
    customer, lead = factories.contact(), factories.contact()
    member(customer, customers)
    member(lead, leads)
    assert b"Trial offer" in browser_client.get(page.url).content
    assert b"Customer offer" in with_cookie(browser_client, customer).get(page.url).content
    assert b"Lead offer" in with_cookie(browser_client, lead).get(page.url).content


def test_a_page_costs_one_membership_query_and_sets_the_request_flag(
    browser_client, customers, leads
):
    home = factories.home_page()  # base.html's banner: two nested if_segment tags
    page = personalised_page()
    customer = factories.contact()
    member(customer, customers)
    with_cookie(browser_client, customer)
    for url, text in ((page.url, b"Customer offer"), (home.url, b"Welcome back")):
        with CaptureQueriesContext(connection) as queries:
            response = browser_client.get(url)
        assert response.status_code == 200 and text in response.content
        assert len(membership_reads(queries)) == 1
        assert request_state(response.wsgi_request).personalised is True


def test_a_page_without_segment_content_reads_no_memberships_and_is_not_flagged(
    browser_client, customers
):
    page = factories.content_page("Blog")
    customer = factories.contact()
    member(customer, customers)
    with CaptureQueriesContext(connection) as queries:
        response = with_cookie(browser_client, customer).get(page.url)
    assert not membership_reads(queries)
    assert not request_state(response.wsgi_request).personalised


def middleware_response(personalise: bool):
    from wagtail_segments.tracking.middleware import TrackingMiddleware

    def view(request):
        if personalise:
            visitor_segment_slugs(request)
        return HttpResponse("page")

    return TrackingMiddleware(view)(RequestFactory().get("/some-page/"))


def test_an_unpersonalised_response_gets_no_vary_from_us():
    assert "Cookie" not in middleware_response(personalise=False).get("Vary", "")


def test_a_personalised_response_varies_by_cookie():
    # (The example site's pages already vary by cookie: base.html reads request.user, which
    # touches the session. A site whose pages do not must still get Vary: Cookie from us.)
    assert "Cookie" in middleware_response(personalise=True).get("Vary", "")


@pytest.mark.parametrize("header", ["HTTP_DNT", "HTTP_SEC_GPC"])
def test_a_visitor_who_refuses_tracking_sees_the_else_branch_at_no_cost(customers, header, django_assert_num_queries):
    contact = factories.contact()
    member(contact, customers)
    request = visitor(contact)
    request.META[header] = "1"
    with django_assert_num_queries(0):
        assert render(IF_CUSTOMER, request) == "other"
    block, value = block_value(variant("customers", text="for customers"))
    assert "everyone else" in render_block(block, value, request)


def test_refused_consent_means_no_personalisation(customers, settings):
    contact = factories.contact()
    member(contact, customers)
    settings.WAGTAIL_SEGMENTS = {**getattr(settings, "WAGTAIL_SEGMENTS", {}),
                                 "CONSENT_CHECK": "tests.test_personalisation.no_consent"}
    assert render(IF_CUSTOMER, visitor(contact)) == "other"


def no_consent(request) -> bool:
    return False
