"""The contacts listing's country and tag filters: bounded on every page load, and still able
to filter by any country and any tag."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests import factories
from wagtail_segments.admin.filters import TAG_LINKS

pytestmark = pytest.mark.django_db

LISTING = "/admin/wagtail_segments/contact/"


def listed(admin_client, **params) -> set[str]:
    response = admin_client.get(LISTING, params)
    assert response.status_code == 200
    return {contact.email for contact in response.context["view"].queryset}


@pytest.fixture
def people():
    ann = factories.contact(email="ann@example.com", country="FR")
    bob = factories.contact(email="bob@example.com", country="DE")
    cid = factories.contact(email="cid@example.com")
    ann.tags.add("vip")
    bob.tags.add("newsletter")
    return ann, bob, cid


def test_a_listing_page_load_scans_no_contacts_for_choices_and_bounds_the_tags(admin_client, people):
    factories.contact(email="dee@example.com", country="US").tags.add(*[f"tag{i:03}" for i in range(TAG_LINKS + 5)])
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(LISTING)
    assert response.status_code == 200
    statements = [query["sql"].upper() for query in queries.captured_queries]
    assert not [sql for sql in statements if "DISTINCT" in sql and "WAGTAIL_SEGMENTS_CONTACT\"" in sql]
    tag_queries = [sql for sql in statements if "WAGTAIL_SEGMENTS_CONTACTTAG\"" in sql]
    assert len(tag_queries) == 1 and "LIMIT" in tag_queries[0]
    html = response.content.decode()
    assert 'name="country"' in html and 'name="tag"' in html
    assert html.count("?tag=") == TAG_LINKS  # the first tags in use, by name: "newsletter", "tag000", …
    assert "?tag=newsletter" in html and "?tag=vip" not in html


def test_filtering_by_country_codes_or_no_country(admin_client, people):
    assert listed(admin_client, country="fr") == {"ann@example.com"}
    assert listed(admin_client, country="FR, de") == {"ann@example.com", "bob@example.com"}
    assert listed(admin_client, country="-") == {"cid@example.com"}
    assert listed(admin_client, country="France") == set()
    assert listed(admin_client) == {"ann@example.com", "bob@example.com", "cid@example.com"}


def test_filtering_by_any_tag_typed_ignoring_case(admin_client, people):
    assert listed(admin_client, tag="VIP") == {"ann@example.com"}
    assert listed(admin_client, tag="Newsletter", country="DE") == {"bob@example.com"}
    assert listed(admin_client, tag="nobody-has-this") == set()


def test_the_filter_form_keeps_the_search_and_the_other_filter(admin_client, people):
    html = admin_client.get(LISTING, {"q": "ann", "country": "FR"}).content.decode()
    assert '<input type="hidden" name="q" value="ann">' in html
    assert '<input type="hidden" name="country" value="FR">' in html  # in the tag filter's form


def test_identified_contacts_are_the_default_and_anonymous_ones_a_click_away(admin_client, people):
    factories.contact()  # an anonymous visitor
    assert listed(admin_client) == {"ann@example.com", "bob@example.com", "cid@example.com"}
    assert listed(admin_client, identity="anonymous") == {""}
    assert len(listed(admin_client, identity="all")) == 4
    html = admin_client.get(LISTING).content.decode()
    assert 'class="selected"><a href="?identity=identified" aria-current="true">Identified' in html


def test_filtering_by_last_seen_between_two_days_and_by_points(admin_client, people):
    import datetime

    from django.utils import timezone

    ann, bob, cid = people
    day = timezone.make_aware(datetime.datetime(2026, 3, 10, 12))
    for contact, offset, points in ((ann, 0, 5), (bob, 5, 50), (cid, 30, 500)):
        type(contact).objects.filter(pk=contact.pk).update(last_seen=day + datetime.timedelta(days=offset), points=points)
    assert listed(admin_client, last_seen_from="2026-03-10", last_seen_to="2026-03-15") == {"ann@example.com", "bob@example.com"}
    assert listed(admin_client, last_seen_from="2026-03-11") == {"bob@example.com", "cid@example.com"}
    assert listed(admin_client, points_from="10", points_to="100") == {"bob@example.com"}
    assert listed(admin_client, points_from="not a number") == {"ann@example.com", "bob@example.com", "cid@example.com"}


def test_filtering_by_segment_and_sorting_by_a_column(admin_client, people):
    from tests.segment_helpers import segment
    from wagtail_segments.segments.manual import add_contacts

    ann, bob, _cid = people
    static = segment(kind="static", name="Fair", build=False)
    add_contacts(static, [ann, bob])
    assert listed(admin_client, segment=static.pk) == {"ann@example.com", "bob@example.com"}
    response = admin_client.get(LISTING, {"o": "1"})  # the "Contact" column, by email
    emails = [contact.email for contact in response.context["view"].queryset]
    assert emails == ["ann@example.com", "bob@example.com", "cid@example.com"]
    response = admin_client.get(LISTING, {"o": "-3"})  # points, most first
    assert response.status_code == 200


def test_the_contacts_listing_order_has_an_index_of_its_own():
    """The listing's first page is read from an index in its order (never-seen contacts last)
    instead of sorting every contact: at a million contacts that is 120 ms of every page load."""
    from django.db import connection

    from wagtail_segments.models import Contact

    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Contact._meta.db_table)
    listing = constraints["wsg_contact_listing_order"]
    assert listing["index"] and listing["columns"] == ["last_seen", "id"]
    assert listing["orders"] == ["DESC", "DESC"]
