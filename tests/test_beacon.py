"""The beacon endpoint: same-origin small JSON events only, rate-limited."""

import json

import pytest
from django.test import Client, override_settings

from tests import factories
from tests.conftest import BROWSER_UA
from wagtail_segments.conf import settings as conf
from wagtail_segments.models import Contact, Event
from wagtail_segments.tracking.beacon import sign_page_id

pytestmark = pytest.mark.django_db

ORIGIN = "http://testserver"


def send(client, payload, origin=ORIGIN, **extra):
    body = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
    headers = {"HTTP_USER_AGENT": BROWSER_UA, **extra}
    if origin:
        headers["HTTP_ORIGIN"] = origin
    return client.post(conf.BEACON_PATH, body, content_type="text/plain;charset=UTF-8", **headers)


def test_time_on_page_is_recorded_for_the_visitor(client):
    page = factories.content_page()
    client.get(page.url, HTTP_USER_AGENT=BROWSER_UA)
    visitor = Contact.objects.get()
    response = send(client, {"kind": "time_on_page", "seconds": 42.25, "path": page.url,
                             "page": sign_page_id(page.pk)})
    assert response.status_code == 204
    event = Event.objects.get(kind="time_on_page")
    assert event.contact == visitor and event.page_id == page.pk and event.data == {"seconds": 42.2}


def test_custom_event_from_a_site_script(client):
    response = send(client, {"kind": "custom", "name": "video_played", "data": {"video": "intro"},
                             "path": "/products/?utm_source=ads"})
    assert response.status_code == 204
    event = Event.objects.get()
    assert event.data == {"name": "video_played", "data": {"video": "intro"}}
    assert event.utm_source == "ads"
    assert conf.COOKIE_NAME in response.cookies


def test_page_views_from_the_beacon_only_when_the_site_says_so(client):
    page = factories.content_page()
    payload = {"kind": "page_view", "path": page.url, "page": sign_page_id(page.pk)}
    assert send(client, payload).status_code == 400
    with override_settings(WAGTAIL_SEGMENTS={"PAGE_VIEWS": "beacon"}):
        assert send(client, payload).status_code == 204
    assert Event.objects.get(kind="page_view").page_id == page.pk


def test_forged_page_token_links_no_page(client):
    page = factories.content_page()
    send(client, {"kind": "custom", "name": "x", "path": "/", "page": f"{page.pk}:forged"})
    assert Event.objects.get().page_id is None


def test_oversized_payload_is_refused(client):
    payload = {"kind": "custom", "name": "x", "path": "/", "data": {"blob": "x" * 10_000}}
    assert send(client, payload).status_code == 400
    assert not Event.objects.exists()


def test_cross_origin_event_is_refused(client):
    payload = {"kind": "custom", "name": "x", "path": "/"}
    assert send(client, payload, origin="https://evil.example").status_code == 403
    assert send(client, payload, origin=None).status_code == 403
    assert send(client, payload, origin=None, HTTP_SEC_FETCH_SITE="cross-site").status_code == 403
    assert send(client, payload, origin=None, HTTP_SEC_FETCH_SITE="same-origin").status_code == 204
    assert Event.objects.count() == 1


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1,2]", b"\xff\xfe", json.dumps({"kind": "nope", "path": "/"}),
     json.dumps({"kind": "custom", "path": "relative"}),
     json.dumps({"kind": "time_on_page", "seconds": "ten", "path": "/"}),
     json.dumps({"kind": "custom", "name": "x", "data": [1], "path": "/"})],
)
def test_malformed_payloads_get_a_clear_400(client, body):
    response = send(client, body)
    assert response.status_code == 400
    assert "error" in response.json()
    assert not Event.objects.exists()


def test_only_post_is_accepted(client):
    assert client.get(conf.BEACON_PATH).status_code == 405


def test_floods_are_rate_limited(client):
    payload = {"kind": "custom", "name": "x", "path": "/"}
    with override_settings(WAGTAIL_SEGMENTS={"BEACON_RATE_LIMIT": 5}):
        codes = [send(client, payload).status_code for _ in range(8)]
    assert codes == [204] * 5 + [429] * 3
    assert Event.objects.count() == 5


def test_do_not_track_and_bots_are_ignored_quietly(client):
    payload = {"kind": "custom", "name": "x", "path": "/"}
    assert send(client, payload, HTTP_DNT="1").status_code == 204
    assert send(client, payload, HTTP_USER_AGENT="Googlebot").status_code == 204
    assert not Event.objects.exists()


@pytest.mark.parametrize("kind", [["custom"], {"a": 1}, 5, None])
def test_a_kind_that_is_not_a_string_is_a_400(client, kind):
    assert send(client, {"kind": kind, "path": "/"}).status_code == 400


def test_a_client_rotating_x_forwarded_for_is_still_limited(client):
    """The left-most X-Forwarded-For value is the client's to write; behind one proxy the
    right-most is the one the proxy appended."""
    payload = {"kind": "custom", "name": "x", "path": "/"}
    codes = []
    with override_settings(WAGTAIL_SEGMENTS={"BEACON_RATE_LIMIT": 3, "IP_HEADER": "HTTP_X_FORWARDED_FOR"}):
        for n in range(6):
            client.cookies.clear()  # a flood that drops its cookie is counted by address
            codes.append(send(client, payload, HTTP_X_FORWARDED_FOR=f"198.51.100.{n}, 203.0.113.9").status_code)
        other = send(Client(), payload, HTTP_X_FORWARDED_FOR="198.51.100.0, 203.0.113.10").status_code
    assert codes == [204] * 3 + [429] * 3
    assert other == 204
    assert set(Event.objects.values_list("ip", flat=True)) == {"203.0.113.0"}


def test_two_contacts_behind_one_proxy_are_limited_separately(client):
    payload = {"kind": "custom", "name": "x", "path": "/"}
    ann, bo = Client(REMOTE_ADDR="10.0.0.1"), Client(REMOTE_ADDR="10.0.0.1")
    with override_settings(WAGTAIL_SEGMENTS={"BEACON_RATE_LIMIT": 3}):
        ann_codes = [send(ann, payload).status_code for _ in range(4)]
        bo_codes = [send(bo, payload).status_code for _ in range(4)]
    assert ann_codes == bo_codes == [204, 204, 204, 429]
    assert Contact.objects.count() == 2


def test_a_forged_cookie_is_counted_by_address(client):
    payload = {"kind": "custom", "name": "x", "path": "/"}
    with override_settings(WAGTAIL_SEGMENTS={"BEACON_RATE_LIMIT": 2}):
        codes = []
        for n in range(4):
            client.cookies[conf.COOKIE_NAME] = f"{n}:forged"
            codes.append(send(client, payload).status_code)
    assert codes == [204, 204, 429, 429]


DEEP = "[" * 1500 + "]" * 1500


@pytest.mark.parametrize(
    "body",
    ['{"kind": "time_on_page", "seconds": NaN, "path": "/"}',
     '{"kind": "time_on_page", "seconds": 1e400, "path": "/"}',
     '{"kind": "custom", "name": "x", "data": {"a": NaN}, "path": "/"}',
     '{"kind": "custom", "name": "x", "data": {"a": [-Infinity]}, "path": "/"}',
     '{"kind": "custom", "name": "x", "data": {"a": 1e400}, "path": "/"}',
     '{"kind": "custom", "name": "x", "data": {"a": 1' + "0" * 400 + '}, "path": "/"}',
     '{"kind": "custom", "name": "x", "data": {"a": ' + DEEP + '}, "path": "/"}'],
    ids=["nan-seconds", "overflowing-seconds", "nan", "infinity", "1e400", "huge-int", "deep"],
)
def test_a_value_no_database_stores_is_a_400_not_a_500(client, body):
    response = send(client, body)
    assert response.status_code == 400
    assert "error" in response.json()
    assert not Event.objects.exists() and not Contact.objects.exists()


def test_control_characters_and_lone_surrogates_are_cleaned_before_storing(client):
    body = json.dumps(
        {"kind": "custom", "name": "pl\u0000ay\ud800", "path": "/a?utm_source=a%00b&utm_medium=%ED%A0%80",
         "referrer": "https://example.org/\u0000", "data": {"k\u0000": ["line\nnext\u0000", "\udfff"]}},
    )  # json.dumps writes the NUL and the surrogates as \u escapes, as a browser script would
    response = send(client, body)
    assert response.status_code == 204
    event = Event.objects.get()
    assert event.data == {"name": "play\ufffd", "data": {"k": ["line\nnext", "\ufffd"]}}
    assert event.utm_source == "ab" and "\x00" not in event.utm_medium
    assert event.referrer == "https://example.org/"


def test_an_ipv6_client_rotating_addresses_within_its_64_is_still_limited():
    payload = {"kind": "custom", "name": "x", "path": "/"}
    with override_settings(WAGTAIL_SEGMENTS={"BEACON_RATE_LIMIT": 2}):
        codes = [send(Client(REMOTE_ADDR=f"2001:db8:1:2::{n:x}"), payload).status_code for n in range(1, 5)]
        other = send(Client(REMOTE_ADDR="2001:db8:1:3::1"), payload).status_code
    assert codes == [204, 204, 429, 429] and other == 204
