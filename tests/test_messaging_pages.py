"""One answer for a link that is not valid, whichever public page behind an email it was
meant for (click, unsubscribe, preference page, confirmation): the same template, words and
style, in the reader's language, kept out of referrers and search engines."""

import pytest
from django.utils import translation

from tests.test_email_views import delivery, path  # noqa: F401 - a fixture
from wagtail_segments.messaging import links
from wagtail_segments.messaging.pages import BAD_LINK

pytestmark = pytest.mark.django_db


def broken(url: str) -> str:
    """``url`` with its signed token edited, as a mail program that cut or changed it would."""
    head, token = path(url).rstrip("/").rsplit("/", 1)
    return f"{head}/{token[:-3]}{'abc' if not token.endswith('abc') else 'xyz'}/"


@pytest.fixture
def bad_links(delivery):  # noqa: F811 - the fixture imported above
    ann = delivery.contact
    return {
        "click": broken(links.click_url(delivery, 0)),
        "unsubscribe": broken(links.unsubscribe_url(delivery)),
        "preferences": broken(links.preference_url(ann)),
        "confirm": broken(links.confirm_url(ann)),
    }


@pytest.mark.parametrize("page", ["click", "unsubscribe", "preferences", "confirm"])
def test_every_bad_link_gets_the_same_page(client, bad_links, page):
    response = client.get(bad_links[page])

    assert response.status_code == 400
    assert [t.name for t in response.templates][:2] == [BAD_LINK, "wagtail_segments/messaging/page.html"]
    html = response.content.decode()
    assert "<h1>This link is not valid</h1>" in html and "Nothing was changed." in html
    assert response["Referrer-Policy"] == "no-referrer" and "noindex" in response["X-Robots-Tag"]


def test_a_link_to_a_deleted_message_gets_the_same_page_as_not_found(client, delivery):  # noqa: F811
    url = path(links.unsubscribe_url(delivery))
    delivery.delete()

    response = client.get(url)

    assert response.status_code == 404 and BAD_LINK in [t.name for t in response.templates]


@pytest.mark.parametrize("page", ["click", "preferences"])
def test_the_page_says_its_language_from_the_active_one(client, bad_links, page):
    with translation.override("de"):
        html = client.get(bad_links[page]).content.decode()
    assert '<html lang="de">' in html

    assert '<html lang="en-gb">' in client.get(bad_links[page]).content.decode()  # the site's LANGUAGE_CODE
