"""Whatever a visitor sends, tracking never answers 5xx, never stores what a database would
refuse, and changes contacts and events only as a valid request would.

Arbitrary text (NUL and other controls, lone surrogates, RTL marks, emoji, percent-escapes
of bytes that are no UTF-8), numbers (NaN, ±Infinity, 1e400, integers beyond 64 bits) and
nesting are thrown at every input a visitor controls: a tracked page view (query and UTM,
Referer, a User-Agent that still looks like a browser, the contact cookie, X-Forwarded-For),
the beacon (every JSON field, and bodies that are no JSON), a form submission and a login.
Every row written is read back and checked for text no database takes. Runs on SQLite and,
with TEST_DATABASE_URL, on PostgreSQL, which refuses NUL anywhere.
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote, urlencode

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client, override_settings
from hypothesis import assume, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from wagtail.contrib.forms.models import FormSubmission

from tests import factories
from tests.conftest import BROWSER_UA
from wagtail_segments.conf import settings as conf
from wagtail_segments.models import Company, Contact, Event, PropertyDefinition
from wagtail_segments.tracking.beacon import sign_page_id
from wagtail_segments.tracking.filters import is_bot

pytestmark = pytest.mark.django_db

CI = hypothesis_settings(hypothesis_settings.get_profile("ci"))
PROXY_SETTINGS = {"IP_HEADER": "HTTP_X_FORWARDED_FOR", "TRUSTED_PROXIES": 1}

SPECIALS = ["\x00", "\ud800", "\udfff", "\u200f", "\u202e", "😀", "\r\n", "\t", "\x1b", "\x7f", "\ufeff", "%00",
            "%ED%A0%80", "%FF", "é"]
nasty_text = st.lists(
    st.one_of(st.sampled_from(SPECIALS), st.text(st.characters(exclude_categories=()), max_size=8)),
    max_size=6,
).map("".join)
nasty_numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([float("nan"), float("inf"), -float("inf"), 2**63, -(2**63) - 1, 10**400, 2**63 - 1]),
    st.integers(),
)
scalars = st.one_of(st.none(), st.booleans(), nasty_numbers, nasty_text)
nested = st.recursive(
    scalars, lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(nasty_text, inner, max_size=3)),
    max_leaves=12,
)
# Raw JSON pieces json.dumps cannot write: a float that overflows, nesting past the stack.
RAW_VALUES = ["1e400", "-1e400", "1" + "0" * 30, "[" * 3000 + "]" * 3000, '"\\u0000"', '"\\ud800"', "NaN"]
browser_agents = nasty_text.map(lambda extra: f"{BROWSER_UA} {extra}")
addresses = st.one_of(st.ip_addresses().map(str), nasty_text)
forwarded_for = st.lists(addresses, max_size=4).map(", ".join)

BAD_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def percent_encoded(text: str) -> str:
    """``text`` as a browser would put it in a URL: UTF-8 bytes, a lone surrogate as its
    three (invalid) bytes."""
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


def header(text: str) -> str:
    """A header value as a WSGI server hands it over: bytes read as Latin-1."""
    return text.encode("utf-8", "surrogatepass").decode("latin-1")


def assert_storable(value, where: str) -> None:
    """No NUL, no control character other than tab and line breaks, no lone surrogate."""
    if isinstance(value, str):
        assert not BAD_CONTROLS.search(value), f"{where}: {value!r}"
    elif isinstance(value, dict):
        for key, inner in value.items():
            assert_storable(key, where)
            assert_storable(inner, where)
    elif isinstance(value, list):
        for inner in value:
            assert_storable(inner, where)


class Snapshot:
    """Row counts before a request; afterwards, the new rows read back from the database."""

    def __init__(self):
        self.last_event = Event.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        self.contacts = Contact.objects.count()
        self.companies = Company.objects.count()

    def new_events(self) -> list[dict]:
        rows = list(Event.objects.filter(pk__gt=self.last_event).values())
        for row in rows:
            assert_storable(row, "event")
        return rows

    def new_contacts(self) -> int:
        for row in Contact.objects.values():  # every contact, including those the request updated
            assert_storable(row, "contact")
        for row in Company.objects.values():
            assert_storable(row, "company")
        return Contact.objects.count() - self.contacts


def visitor(cookie: str, forwarded: str) -> Client:
    cache.clear()  # every example starts with a fresh beacon rate limit
    extra = {"HTTP_COOKIE": header(f"{conf.COOKIE_NAME}={cookie}"), "HTTP_X_FORWARDED_FOR": header(forwarded)}
    return Client(**extra)


def test_a_page_view_with_any_query_headers_and_cookie():
    page = factories.content_page()

    @CI
    @given(
        query=st.lists(st.tuples(st.sampled_from(["utm_source", "utm_medium", "utm_campaign", "utm_term",
                                                    "utm_content", "q"]) | nasty_text, nasty_text), max_size=5),
        referer=nasty_text, agent=browser_agents, cookie=nasty_text, forwarded=forwarded_for,
    )
    def view(query, referer, agent, cookie, forwarded):
        assume(not is_bot(header(agent)))
        query_string = "&".join(f"{percent_encoded(key)}={percent_encoded(value)}" for key, value in query)
        before = Snapshot()
        with override_settings(WAGTAIL_SEGMENTS=PROXY_SETTINGS):
            response = visitor(cookie, forwarded).get(
                f"{page.url}?{query_string}", HTTP_REFERER=header(referer), HTTP_USER_AGENT=header(agent),
            )
        assert response.status_code == 200
        events = before.new_events()
        assert [(e["kind"], e["page_id"]) for e in events] == [("page_view", page.pk)]
        assert before.new_contacts() <= 1

    view()


def beacon_payloads(page_token: str):
    """Mostly well-formed events with nasty values in every field (so that most reach the
    database), some with raw JSON numbers and nesting json.dumps cannot write, and junk."""
    kinds = st.sampled_from(["custom", "time_on_page", "page_view"])
    paths = st.sampled_from(["/", "/pricing/?utm_source=a%00b", "/x?utm_term=%ED%A0%80"]) | nasty_text.map(
        lambda text: "/" + text)
    fields = {
        "referrer": nasty_text | scalars,
        "page": st.just(page_token) | nasty_text | scalars,
        "name": nasty_text,
        "seconds": st.floats(0, 1e6) | nasty_numbers,
        "data": st.dictionaries(nasty_text, nested, max_size=4),
    }
    events = st.fixed_dictionaries({"kind": kinds, "path": paths}, optional=fields).map(
        lambda obj: json.dumps(obj, allow_nan=True))
    with_raw_value = st.tuples(events, st.sampled_from(RAW_VALUES), st.sampled_from(['"data": {"x": %s}', '"seconds": %s'])).map(
        lambda parts: parts[0][:-1] + ", " + parts[2] % parts[1] + "}"
    )
    anything = st.fixed_dictionaries(
        {}, optional={"kind": kinds | nasty_text | scalars, "path": paths | scalars, **fields,
                      "data": nested}).map(lambda obj: json.dumps(obj, allow_nan=True))
    return st.one_of(events, events, events, events, with_raw_value, anything, st.binary(max_size=64), nasty_text)


def test_a_beacon_with_any_json():
    page = factories.content_page()

    @CI
    @given(body=beacon_payloads(sign_page_id(page.pk)), agent=browser_agents, cookie=nasty_text,
           forwarded=forwarded_for)
    def beacon(body, agent, cookie, forwarded):
        before = Snapshot()
        with override_settings(WAGTAIL_SEGMENTS={**PROXY_SETTINGS, "PAGE_VIEWS": "beacon"}):
            response = visitor(cookie, forwarded).post(
                conf.BEACON_PATH, body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body,
                content_type="text/plain;charset=UTF-8", HTTP_ORIGIN="http://testserver",
                HTTP_USER_AGENT=header(agent),
            )
        assert response.status_code in (204, 400)
        events = before.new_events()
        contacts = before.new_contacts()
        if response.status_code == 400 or not events:
            assert events == [] and contacts == 0  # refused or untracked: nothing at all
        else:
            assert len(events) == 1 and contacts <= 1
            recorded.append(events[0]["kind"])

    recorded: list[str] = []
    beacon()
    assert len(recorded) >= 5  # the examples reach the database, not only the 400s


def test_a_form_submission_with_any_answers():
    page = factories.form_page(fields=[
        ("First name", "singleline"), ("Email", "email"), ("Company", "singleline"), ("Message", "multiline"),
        ("Seats", "singleline"), ("Topics", "checkboxes"),
    ])
    PropertyDefinition.objects.create(key="seats", type=PropertyDefinition.Type.NUMBER)
    numbers = nasty_numbers.map(repr) | st.sampled_from(["1e400", "1e9999999", "NaN", "-inf", "1" + "0" * 400])
    emails = st.emails() | nasty_text | nasty_text.map(lambda text: f"{text}@example.com")

    @CI
    @given(
        answers=st.fixed_dictionaries({}, optional={
            "first_name": nasty_text, "email": emails, "company": nasty_text, "message": nasty_text,
            "seats": numbers | nasty_text, "topics": st.lists(st.sampled_from(["a", "b", "c"]) | nasty_text, max_size=3),
        }),
        cookie=nasty_text, forwarded=forwarded_for, referer=nasty_text,
    )
    def submit(answers, cookie, forwarded, referer):
        pairs = [(key, item) for key, value in answers.items() for item in (value if isinstance(value, list) else [value])]
        body = "&".join(f"{percent_encoded(key)}={percent_encoded(value)}" for key, value in pairs)
        submissions = FormSubmission.objects.count()
        before = Snapshot()
        with override_settings(WAGTAIL_SEGMENTS=PROXY_SETTINGS):
            response = visitor(cookie, forwarded).post(
                page.url, body, content_type="application/x-www-form-urlencoded",
                HTTP_USER_AGENT=BROWSER_UA, HTTP_REFERER=header(referer),
            )
        assert response.status_code == 200
        events = before.new_events()
        contacts = before.new_contacts()
        if FormSubmission.objects.count() == submissions:  # the form refused the answers
            assert events == [] and contacts == 0
        else:
            assert [e["kind"] for e in events if e["kind"] != "merge"] == ["form_submission"]
            assert contacts <= 1
            saved.append(events[-1]["id"])

    saved: list[int] = []
    submit()
    assert len(saved) >= 10  # the examples get past the form's own validation


def test_a_login_with_any_request_details():
    User.objects.create_user("ann", "ann@example.com", "pw")

    @CI
    @given(
        query=nasty_text, agent=browser_agents, cookie=nasty_text, forwarded=forwarded_for, referer=nasty_text,
    )
    def login(query, agent, cookie, forwarded, referer):
        assume(not is_bot(header(agent)))
        before = Snapshot()
        with override_settings(WAGTAIL_SEGMENTS=PROXY_SETTINGS):
            response = visitor(cookie, forwarded).post(
                f"/login/?{urlencode({'utm_source': query, 'next': query}, encoding='utf-8', errors='surrogatepass')}",
                {"username": "ann", "password": "pw"},
                HTTP_USER_AGENT=header(agent), HTTP_REFERER=header(referer),
            )
        assert response.status_code == 302
        events = before.new_events()
        assert [e["kind"] for e in events if e["kind"] != "merge"] == ["login"]
        assert before.new_contacts() <= 1

    login()
