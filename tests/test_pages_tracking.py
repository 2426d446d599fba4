"""Page views of Wagtail pages: what is recorded, what is not, and what it costs."""

import collections
import re

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from wagtail import hooks
from wagtail.models import PageViewRestriction

from tests import factories
from tests.conftest import BROWSER_UA
from wagtail_segments.conf import settings as conf
from wagtail_segments.models import Contact, Event

pytestmark = pytest.mark.django_db


def segments(**values):
    return override_settings(WAGTAIL_SEGMENTS=values)


def test_page_view_is_recorded_once_with_page_path_referrer_and_utm(browser_client):
    page = factories.content_page("Pricing")
    response = browser_client.get(
        page.url + "?utm_source=newsletter&utm_medium=email&utm_campaign=spring",
        HTTP_REFERER="https://search.example/?q=pricing",
    )
    assert response.status_code == 200
    event = Event.objects.get()
    assert event.kind == "page_view"
    assert event.page_id == page.pk
    assert event.path == page.url + "?utm_source=newsletter&utm_medium=email&utm_campaign=spring"
    assert event.referrer == "https://search.example/?q=pricing"
    assert (event.utm_source, event.utm_medium, event.utm_campaign) == ("newsletter", "email", "spring")
    assert event.device == "desktop"
    assert event.site_id is not None


def test_first_view_creates_the_contact_and_sets_a_signed_httponly_lax_cookie(browser_client):
    page = factories.content_page()
    response = browser_client.get(page.url)
    cookie = response.cookies[conf.COOKIE_NAME]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    contact = Contact.objects.get()
    assert str(contact.pk) in cookie.value and ":" in cookie.value
    browser_client.get(page.url)
    assert Contact.objects.count() == 1
    assert Event.objects.filter(contact=contact).count() == 2


def test_forged_cookie_starts_a_new_contact_not_an_error(browser_client):
    victim = factories.contact(email="victim@example.com")
    page = factories.content_page()
    for forged in (str(victim.pk), f"{victim.pk}:abc:def", "garbage" * 40, "1:" + "x" * 300):
        browser_client.cookies[conf.COOKIE_NAME] = forged
        response = browser_client.get(page.url)
        assert response.status_code == 200
    assert not Event.objects.filter(contact=victim).exists()
    assert Event.objects.count() == 4


def test_expired_cookie_is_ignored(browser_client, settings):
    page = factories.content_page()
    browser_client.get(page.url)
    first = Contact.objects.get()
    with segments(COOKIE_MAX_AGE_DAYS=-1):
        browser_client.get(page.url)
    assert Contact.objects.exclude(pk=first.pk).count() == 1


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_USER_AGENT": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"},
        {"HTTP_USER_AGENT": ""},
        {"HTTP_USER_AGENT": BROWSER_UA, "HTTP_DNT": "1"},
        {"HTTP_USER_AGENT": BROWSER_UA, "HTTP_SEC_GPC": "1"},
    ],
    ids=["bot", "no-user-agent", "do-not-track", "global-privacy-control"],
)
def test_requests_that_must_not_be_tracked_record_nothing(client, headers):
    page = factories.content_page()
    response = client.get(page.url, **headers)
    assert response.status_code == 200
    assert not Event.objects.exists() and not Contact.objects.exists()
    assert conf.COOKIE_NAME not in response.cookies


def refuse(request):
    return request.COOKIES.get("consent") == "yes"


def test_consent_callable_refusing_means_nothing_is_recorded(browser_client):
    page = factories.content_page()
    with segments(CONSENT_CHECK="tests.test_pages_tracking.refuse"):
        browser_client.get(page.url)
        assert not Event.objects.exists()
        browser_client.cookies["consent"] = "yes"
        browser_client.get(page.url)
    assert Event.objects.count() == 1


def sign_in(client, username):
    response = client.post("/login/", {"username": username, "password": "pw"})
    assert response.status_code == 302
    return response


def test_staff_are_not_tracked_unless_the_site_asks(browser_client):
    page = factories.content_page()
    User.objects.create_user("editor", password="pw", is_staff=True)
    sign_in(browser_client, "editor")
    browser_client.get(page.url)
    assert not Event.objects.exists()
    with segments(TRACK_STAFF=True):
        browser_client.get(page.url)
    assert Event.objects.count() == 1


def test_staff_signed_in_elsewhere_are_recognised_once_a_request_loads_their_user(browser_client):
    """Whether a visitor is staff comes from a flag cookie that any request which loads the
    user keeps true (a login, a logout, an admin page): a session made without a response
    of the site (here force_login) is tracked until then, and again after logging out."""
    page = factories.content_page()
    editor = User.objects.create_user("editor", password="pw", is_staff=True, is_superuser=True)
    browser_client.force_login(editor)
    browser_client.get(page.url)
    assert Event.objects.count() == 1
    assert browser_client.get("/admin/").status_code == 200
    browser_client.get(page.url)
    assert Event.objects.count() == 1
    browser_client.post("/admin/logout/")
    browser_client.get(page.url)
    assert Event.objects.count() == 2


def test_a_forged_staff_flag_does_not_opt_a_visitor_out(browser_client):
    page = factories.content_page()
    browser_client.cookies[f"{conf.COOKIE_NAME}_staff"] = "staff"
    browser_client.get(page.url)
    assert Event.objects.count() == 1


def test_admin_and_preview_are_not_tracked(browser_client):
    page = factories.content_page()
    admin = User.objects.create_superuser("admin", "admin@example.com", "pw")
    browser_client.force_login(admin)
    with segments(TRACK_STAFF=True):
        assert browser_client.get("/admin/").status_code == 200
        assert browser_client.get(f"/admin/pages/{page.pk}/edit/preview/").status_code == 200
        assert browser_client.get(f"/admin/pages/{page.pk}/").status_code == 200
    assert not Event.objects.exists()


def test_password_prompt_is_not_a_page_view(browser_client):
    page = factories.content_page("Members")
    PageViewRestriction.objects.create(page=page, restriction_type="password", password="secret")
    response = browser_client.get(page.url)
    assert response.status_code == 200 and b"password" in response.content.lower()
    assert not Event.objects.exists()


def test_not_found_and_post_are_not_page_views(browser_client):
    factories.content_page()
    assert browser_client.get("/no-such-page/").status_code == 404
    assert not Event.objects.exists()


def test_static_and_media_paths_are_never_tracked_by_track(rf):
    from wagtail_segments import track

    for path in ("/static/app.css", "/media/photo.jpg", "/admin/pages/"):
        request = rf.get(path, HTTP_USER_AGENT=BROWSER_UA)
        assert track(request, "custom") is None
    assert not Event.objects.exists()


def test_ip_addresses_are_anonymised(browser_client):
    page = factories.content_page()
    browser_client.get(page.url, REMOTE_ADDR="203.0.113.77")
    browser_client.get(page.url, REMOTE_ADDR="2001:db8:85a3:1:2:3:4:5")
    assert sorted(Event.objects.values_list("ip", flat=True)) == ["2001:db8:85a3::", "203.0.113.0"]


def test_country_comes_from_the_configured_header(browser_client):
    page = factories.content_page()
    browser_client.get(page.url, HTTP_CF_IPCOUNTRY="ca")
    browser_client.get(page.url, HTTP_CF_IPCOUNTRY="<script>")
    assert list(Event.objects.order_by("id").values_list("country", flat=True)) == ["CA", ""]


def test_mobile_and_tablet_devices_are_classed(browser_client):
    page = factories.content_page()
    browser_client.get(page.url, HTTP_USER_AGENT="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Mobile/15E148")
    browser_client.get(page.url, HTTP_USER_AGENT="Mozilla/5.0 (iPad; CPU OS 17_0) AppleWebKit")
    assert list(Event.objects.order_by("id").values_list("device", flat=True)) == ["mobile", "tablet"]


@pytest.mark.django_db(transaction=True)
def test_a_tracked_view_costs_one_statement_and_two_on_the_first_view(browser_client):
    """Every statement counts, not only INSERTs: outside a site transaction a returning
    visitor's view adds the event's INSERT to what the page costs untracked, and a first view
    the contact's INSERT too (no reference-index or other bookkeeping on the way)."""
    page = factories.content_page()
    # Warm up: another visitor's view has already queued the background pass in this window.
    Client().get(page.url, HTTP_USER_AGENT=BROWSER_UA)
    url = page.url
    with segments(INJECT_BEACON=False, PROCESS_EVENTS_DELAY_SECONDS=3600):  # however slow the machine
        with CaptureQueriesContext(connection) as untracked:
            browser_client.get(url, HTTP_DNT="1")
        with CaptureQueriesContext(connection) as first:
            browser_client.get(url)
        with CaptureQueriesContext(connection) as returning:
            browser_client.get(url)
    added_first = first.captured_queries[len(untracked.captured_queries):]
    added_returning = returning.captured_queries[len(untracked.captured_queries):]
    assert [table_written(q) for q in added_first] == ["wagtail_segments_contact", "wagtail_segments_event"]
    assert [table_written(q) for q in added_returning] == ["wagtail_segments_event"]
    assert len(first.captured_queries) == len(untracked.captured_queries) + 2
    assert len(returning.captured_queries) == len(untracked.captured_queries) + 1


def statements_added(untracked, tracked) -> list[str]:
    """The statements of ``tracked`` that ``untracked`` did not run (whatever their order),
    named by the table they write."""
    def shape(query):
        return re.sub(r"\d+", "N", query["sql"])

    remaining = collections.Counter(shape(q) for q in untracked)
    added = []
    for query in tracked:
        if remaining[shape(query)]:
            remaining[shape(query)] -= 1
        else:
            added.append(table_written(query))
    return added


def table_written(query) -> str:
    match = re.match(r'\s*INSERT INTO "(\w+)"', query["sql"])
    return match.group(1) if match else query["sql"][:60]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("visitor", ["member", "anonymous-with-session"])
def test_a_visitor_with_a_session_costs_one_statement_more_than_untracked(browser_client, monkeypatch, visitor):
    """Visitors with a session cookie (a signed-in member, an anonymous visitor the site keeps
    a session for): the staff check must not load the session or the user. On a page whose
    template shows the user they are loaded anyway (and reused); on one that does not, the
    tracked view still costs only its INSERT more than the untracked one."""
    from django.conf import settings
    from django.http import HttpResponse

    from example_site.pages.models import ContentPage

    page = factories.content_page()
    if visitor == "member":
        browser_client.force_login(User.objects.create_user("member", password="pw"))
    else:
        session = browser_client.session
        session["basket"] = 3
        session.save()
        browser_client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    browser_client.get(page.url)  # first view: contact and cookie

    def added_by_tracking():
        with segments(INJECT_BEACON=False, PROCESS_EVENTS_DELAY_SECONDS=3600):
            with CaptureQueriesContext(connection) as untracked:
                browser_client.get(page.url, HTTP_DNT="1")
            with CaptureQueriesContext(connection) as tracked:
                browser_client.get(page.url)
        return statements_added(untracked.captured_queries, tracked.captured_queries)

    assert added_by_tracking() == ["wagtail_segments_event"]  # the template reads request.user
    monkeypatch.setattr(ContentPage, "serve", lambda self, request, *args, **kwargs: HttpResponse("<p>Plain</p>"))
    assert added_by_tracking() == ["wagtail_segments_event"]


@pytest.mark.django_db(transaction=True)
def test_page_view_cost_does_not_grow_with_the_number_of_segments(browser_client):
    """The request path touches Wagtail's page tables and writes the event, nothing else:
    the same queries with no segment and with fifty dynamic segments defined."""
    from tests.segment_helpers import rule, segment

    page = factories.content_page()
    browser_client.get(page.url)

    def view_queries():
        # The pass over new events stays queued however long creating the segments takes.
        with segments(PROCESS_EVENTS_DELAY_SECONDS=3600), CaptureQueriesContext(connection) as queries:
            browser_client.get(page.url)
        return [re.sub(r"\d+", "N", q["sql"]) for q in queries.captured_queries]

    before = view_queries()
    for n in range(50):
        segment(rule("page_views", page=page.pk, count=n + 1), build=False)
    after = view_queries()
    assert after == before
    tables = set()
    for sql in after:
        tables.update(re.findall(r'(?:FROM|INTO|JOIN|UPDATE) "(\w+)"', sql))
    assert {t for t in tables if t.startswith("wagtail_segments_")} == {"wagtail_segments_event"}


def test_page_views_are_left_to_the_beacon_when_the_site_is_cached(browser_client):
    page = factories.content_page()
    with segments(PAGE_VIEWS="beacon"):
        response = browser_client.get(page.url)
    assert not Event.objects.exists()
    assert b'data-pageview="1"' in response.content
    assert b"wagtail_segments/beacon.js" in response.content


def test_beacon_script_is_injected_before_body_end(browser_client):
    page = factories.content_page()
    content = browser_client.get(page.url).content.decode()
    assert content.index("wagtail_segments/beacon.js") < content.index("</body>")
    assert 'data-pageview="0"' in content


def test_a_broker_outage_does_not_break_the_page(browser_client, monkeypatch, django_capture_on_commit_callbacks):
    def broken(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr("django_q.tasks.async_task", broken)
    page = factories.content_page()
    with django_capture_on_commit_callbacks(execute=True):
        response = browser_client.get(page.url)
    assert response.status_code == 200
    assert Event.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_outside_a_site_transaction_the_view_does_not_wait_for_the_log_flush(browser_client):
    """PostgreSQL: the event's own implicit transaction turns synchronous_commit off for
    itself only; the contact (first view) and everything else commit as usual. SQLite: a
    plain insert."""
    page = factories.content_page()
    browser_client.get(page.url)  # first view: contact and cookie
    with segments(INJECT_BEACON=False), CaptureQueriesContext(connection) as returning:
        browser_client.get(page.url)
    statements = [q["sql"].strip().upper() for q in returning.captured_queries]
    relaxed = [s for s in statements if "SYNCHRONOUS_COMMIT" in s]
    if connection.vendor == "postgresql":
        # One statement string, one round trip: the insert and the setting for its own commit.
        assert len(relaxed) == 1
        assert relaxed[0].startswith('INSERT INTO "WAGTAIL_SEGMENTS_EVENT"')
        assert relaxed[0].endswith("; SET LOCAL SYNCHRONOUS_COMMIT TO OFF")
        with connection.cursor() as cursor:  # the connection's own setting is untouched
            cursor.execute("SHOW synchronous_commit")
            assert cursor.fetchone()[0] == "on"
    else:
        assert relaxed == []
    assert Event.objects.filter(page=page).count() == 2
    assert len(returning.captured_queries) == len(untracked_queries(browser_client, page)) + 1
    with segments(INJECT_BEACON=False, TRACKING_ASYNC_COMMIT=False), CaptureQueriesContext(connection) as strict:
        browser_client.get(page.url)
    assert not [q for q in strict.captured_queries if "synchronous_commit" in q["sql"].lower()]
    assert Event.objects.filter(page=page).count() == 3


@pytest.fixture(params=[False, True], ids=["autocommit", "atomic-requests"])
def atomic_requests(request, monkeypatch):
    """Both ways a site may run its views: Django's default autocommit, and one transaction per
    request (``ATOMIC_REQUESTS``), where foreign keys are checked only at the commit."""
    monkeypatch.setitem(connection.settings_dict, "ATOMIC_REQUESTS", request.param)
    return request.param


@pytest.mark.django_db(transaction=True)
def test_a_cookie_naming_a_deleted_contact_starts_a_new_contact(browser_client, atomic_requests):
    page = factories.content_page()
    browser_client.get(page.url)
    erased = Contact.objects.get()
    erased.delete()  # an editor deletes the contact (erasure, retention)
    response = browser_client.get(page.url)
    assert response.status_code == 200
    survivor = Contact.objects.get()
    assert survivor.pk != erased.pk
    assert list(Event.objects.values_list("contact_id", flat=True)) == [survivor.pk]
    # The visitor gets a cookie for the new contact, and the next views are theirs.
    browser_client.get(page.url)
    assert Contact.objects.count() == 1
    assert Event.objects.filter(contact=survivor).count() == 2


@pytest.mark.django_db(transaction=True)
def test_inside_a_site_transaction_a_view_checks_its_references_at_once(browser_client, atomic_requests):
    """Outside a site transaction the view stays at one statement (above); inside one (where
    the check would otherwise wait for the commit) it checks the contact, page and site when
    inserting: PostgreSQL in a savepoint around the insert, SQLite with one read first."""
    page = factories.content_page()
    browser_client.get(page.url)
    untracked = untracked_queries(browser_client, page)
    with segments(INJECT_BEACON=False, PROCESS_EVENTS_DELAY_SECONDS=3600), CaptureQueriesContext(connection) as returning:
        browser_client.get(page.url)
    added = len(returning.captured_queries) - len(untracked)
    if not atomic_requests:
        assert added == 1
    elif connection.vendor == "postgresql":
        # the drop-when-refused savepoint around: savepoint, constraints immediate, insert,
        # constraints deferred, release
        assert added == 7
    else:
        # the drop-when-refused savepoint around one read of the references and the insert
        assert added == 4


def untracked_queries(client, page):
    with segments(INJECT_BEACON=False), CaptureQueriesContext(connection) as untracked:
        client.get(page.url, HTTP_DNT="1")
    return untracked.captured_queries


@pytest.mark.django_db(transaction=True)
def test_the_tracked_insert_writes_what_the_orm_would_and_sends_the_model_signals(browser_client):
    """On PostgreSQL the request's insert is compiled once and sent with the setting for its
    own commit; the row, its id on the instance and pre_save/post_save are as save() gives."""
    from django.db.models.signals import post_save, pre_save

    from wagtail_segments.signals import event_recorded

    page = factories.content_page()
    browser_client.get(page.url)  # first view: contact and cookie
    seen = []

    def on_pre(sender, instance, **kwargs):
        seen.append(("pre", instance.pk))

    def on_post(sender, instance, created, **kwargs):
        seen.append(("post", instance.pk, created))

    def on_recorded(sender, event, **kwargs):
        seen.append(("recorded", event.pk))

    pre_save.connect(on_pre, sender=Event)
    post_save.connect(on_post, sender=Event)
    event_recorded.connect(on_recorded)
    try:
        browser_client.get(f"{page.url}?utm_source=Newsletter&utm_campaign=spring",
                           HTTP_REFERER="https://mail.example/", HTTP_CF_IPCOUNTRY="ca")
    finally:
        pre_save.disconnect(on_pre, sender=Event)
        post_save.disconnect(on_post, sender=Event)
        event_recorded.disconnect(on_recorded)
    event = Event.objects.order_by("-id").first()
    assert seen == [("pre", None), ("post", event.pk, True), ("recorded", event.pk)]
    assert (event.kind, event.page_id, event.utm_source, event.utm_campaign, event.referrer) == (
        "page_view", page.pk, "Newsletter", "spring", "https://mail.example/")
    assert event.time is not None and event.data == {} and event.device == "desktop"


def test_a_link_with_nul_and_control_characters_is_served_and_recorded_clean(browser_client):
    """Anyone can hand out such a link: on PostgreSQL it used to fail every page it named."""
    page = factories.content_page()
    response = browser_client.get(
        f"{page.url}?utm_source=a%00b&utm_campaign=%ED%A0%80&utm_term=%01x", HTTP_REFERER="https://example.org/\x00\x1b",
    )
    assert response.status_code == 200
    event = Event.objects.get()
    assert (event.utm_source, event.utm_term, event.referrer) == ("ab", "x", "https://example.org/")
    assert "\x00" not in event.utm_campaign


@pytest.mark.django_db(transaction=True)
def test_a_refused_event_under_atomic_requests_is_dropped_not_the_page(browser_client, monkeypatch):
    """If a value still reaches the database that it refuses, the page is served untracked
    and the site's own transaction commits: the insert ran in a savepoint."""
    from wagtail_segments.tracking import recorder

    page = factories.content_page()
    original = recorder.record_event

    def with_a_refused_value(*args, **kwargs):
        return original(*args, **{**kwargs, "data": {"x": float("nan")}})

    def site_writes(page, request, serve_args, serve_kwargs):  # the host's own write, same transaction
        Contact.objects.create(first_name="written by the site")

    monkeypatch.setattr(recorder, "record_event", with_a_refused_value)
    monkeypatch.setitem(connection.settings_dict, "ATOMIC_REQUESTS", True)
    with hooks.register_temporarily("before_serve_page", site_writes):
        response = browser_client.get(page.url)
    assert response.status_code == 200
    assert not Event.objects.exists()
    assert Contact.objects.filter(first_name="written by the site").count() == 1
