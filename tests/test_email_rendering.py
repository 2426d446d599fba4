"""Rendering an email for one contact: merge fields, escaping, CSS, text part, links."""

from html.parser import HTMLParser

import pytest
from django.core.exceptions import ValidationError

from tests import factories
from wagtail_segments.contacts.models import PropertyDefinition
from wagtail_segments.messaging.models import Delivery
from wagtail_segments.messaging.rendering import INLINER, MergeTemplateError, merge_problems, prepare, preview_as

pytestmark = pytest.mark.django_db


def test_merge_fields_fill_subject_preheader_and_body_with_fallbacks():
    PropertyDefinition.objects.create(key="plan", label="Plan")
    message = factories.email_message(
        "<p>Dear {{ first_name|default:\"there\" }} {{ last_name }}, plan: {{ properties.plan }}.</p>",
        subject="{{ first_name|default:\"Friend\" }}, your {{ properties.plan }} plan",
        preheader="Sent to {{ email }}",
    )
    ann = factories.contact(first_name="Ann", last_name="Lee", email="ann@example.com", properties={"plan": "gold"})
    nameless = factories.contact(email="x@example.com")

    subject, html, text = preview_as(message, ann)
    assert subject == "Ann, your gold plan"
    assert "Dear Ann Lee, plan: gold." in html and "Dear Ann Lee, plan: gold." in text
    assert "Sent to ann@example.com" in html  # the preheader, first thing in the body
    subject, html, _text = preview_as(message, nameless)
    assert subject.startswith("Friend, your")
    assert "Dear there , plan: ." in html


def test_a_hostile_first_name_is_escaped_in_html_and_kept_plain_in_subject_and_text():
    message = factories.email_message("<p>Hi {{ first_name }}</p>", subject="Hi {{ first_name }}\nBcc: x@evil.test")
    contact = factories.contact(first_name='<script>alert("x")</script>\r\nBcc: all@evil.test', email="a@example.com")

    subject, html, text = preview_as(message, contact)

    assert "<script>" not in html and "&lt;script&gt;alert(" in html
    assert '<script>alert("x")</script>' in text  # plain text: shown as typed, not markup
    assert "\n" not in subject and "\r" not in subject  # no header injection through the subject


def test_css_is_inlined_the_preheader_hidden_and_a_text_part_made():
    message = factories.email_message("<h2>Title</h2><p>Body <b>bold</b></p><ul><li>one</li></ul>",
                                      preheader="Look inside")
    _subject, html, text = preview_as(message, factories.contact(email="a@example.com"))
    assert "<style" not in html
    assert 'style="' in html and "font-family" in html  # the layout's rules, on the elements
    preheader = html.split("Look inside")[0].rsplit("<div", 1)[1]
    assert "display: none" in preheader
    assert "## Title" in text and "**bold**" in text and "* one" in text
    assert "<p" not in text and "Look inside" not in text



def test_css_inlined_once_per_batch_styles_what_each_contact_gets_as_inlining_it_would():
    """The layout is inlined before any contact's values are in it: each contact's page is
    the same page, element for element, as inlining that contact's own page gives."""
    message = factories.email_message(
        '<h2>Hello {{ first_name|default:"there" }}</h2>'
        "<p>{% if points &gt; 3 %}Many points{% else %}Few points{% endif %}, {{ last_name }}</p>",
        preheader="For {{ first_name }}",
    )
    prepared = prepare(message)
    for n, (first_name, points) in enumerate((('Zo\u00eb "Z" <script>alert(1)</script>', 5), ("O'Brien & Co", 1))):
        contact = factories.contact(first_name=first_name, last_name="<b>L</b>", points=points,
                                    email=f"{n}@example.com")
        page = prepared.render(contact, Delivery(contact=contact, email_message=message, to_address=contact.email)).html
        assert "<script" not in page and "<b>L" not in page
        assert ("Many points" in page) == (points > 3)
        assert _elements(page) == _elements(INLINER.inline(page))
        heading = next(e for e in _elements(page) if e[0] == "h2")
        assert "font-size: 22px" in dict(heading[1])["style"] and heading[2] == f"Hello {first_name}"


def _elements(page: str) -> list[tuple]:
    """Each element's tag, attributes and the text right inside it, entities read."""
    found: list = []

    class Reader(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append([tag, attrs, ""])

        def handle_data(self, data):
            if found:
                found[-1][2] += data

    Reader(convert_charrefs=True).feed(page)
    return [tuple(element) for element in found]

def test_links_go_through_the_click_redirect_and_the_originals_are_kept_for_the_delivery():
    message = factories.email_message(
        '<p><a href="https://example.com/a?x=1&amp;y=2">A</a> <a href="https://example.com/p/{{ email|urlencode }}">B</a> '
        '<a href="mailto:help@example.com">mail</a></p>',
        buttons=[("Shop", "https://shop.example.com/")],
    )
    contact = factories.contact(email="a+b@example.com")
    delivery = Delivery(contact=contact, email_message=message, to_address=contact.email)

    rendered = prepare(message).render(contact, delivery)

    assert rendered.links == ["https://example.com/a?x=1&y=2", "https://example.com/p/a%2Bb%40example.com",
                              "https://shop.example.com/"]
    assert "example.com/a?" not in rendered.html and "shop.example.com" not in rendered.html
    assert rendered.html.count("/_segments/c/") == 3 and "/_segments/o/" in rendered.html  # pixel
    assert 'href="mailto:help@example.com"' in rendered.html  # not a web link: left alone
    assert "/_segments/u/" in rendered.html and "/_segments/p/" in rendered.html  # footer
    assert "/_segments/c/" in rendered.text and "/_segments/u/" in rendered.text


def test_a_merge_field_cannot_turn_a_link_into_javascript():
    message = factories.email_message('<p><a href="{{ properties.site }}">site</a></p>')
    contact = factories.contact(email="a@example.com", properties={"site": "javascript:alert(1)"})
    rendered = prepare(message).render(contact, Delivery(contact=contact, to_address=contact.email))
    assert rendered.links == [""]
    assert "javascript" not in rendered.html


def test_a_broken_merge_template_is_refused_by_clean_naming_the_message():
    message = factories.email_message("<p>Hi {{ first_name|nosuchfilter }}</p>", name="Spring sale")
    with pytest.raises(ValidationError) as caught:
        message.full_clean()
    assert "Spring sale" in str(caught.value) and "nosuchfilter" in str(caught.value)

    broken_subject = factories.email_message(name="Welcome", subject="Hi {% if first_name %}")
    assert "Welcome" in merge_problems(broken_subject)[0]
    with pytest.raises(MergeTemplateError, match="Welcome"):
        prepare(broken_subject)


def test_merge_fields_cannot_reach_the_sites_templates_or_tag_libraries():
    for body in ('<p>{% include "wagtail_segments/messaging/page.html" %}</p>', "<p>{% load wagtailcore_tags %}</p>"):
        message = factories.email_message(body)
        assert merge_problems(message), body


def test_one_prepared_email_fills_each_contacts_own_preheader_and_links_escaped_in_html_only():
    message = factories.email_message('<p><a href="https://example.com/{{ first_name|urlencode }}">me</a></p>',
                                      preheader="For {{ first_name }}")
    prepared = prepare(message)
    amp = factories.contact(first_name="A&B <i>", email="a@example.com")
    plain = factories.contact(first_name="Cy", email="c@example.com")
    first, second = (prepared.render(c, Delivery(contact=c, email_message=message, to_address=c.email))
                     for c in (amp, plain))

    assert "For A&amp;B &lt;i&gt;" in first.html and "For Cy" in second.html
    assert first.preheader == "For A&B <i>"  # plain text outside the HTML
    assert first.links == ["https://example.com/A%26B%20%3Ci%3E"] and second.links == ["https://example.com/Cy"]
    assert first.unsubscribe_url != second.unsubscribe_url and first.unsubscribe_url in first.text
    assert first.unsubscribe_url.replace("&", "&amp;") in first.html
    slot_word = prepared._slot.pattern[:19]  # "wsg" and the batch's secret: never left in what is sent
    assert not any(slot_word in part for part in (first.html, first.text, second.html, second.text))


def test_a_contact_value_shaped_like_a_slot_is_shown_as_typed():
    message = factories.email_message("<p>Hi {{ first_name }}</p>")
    prepared = prepare(message)
    other_batch = prepare(message)._slot_for("unsubscribe")  # another batch's secret, as a guess
    contact = factories.contact(first_name=other_batch, email="a@example.com")
    rendered = prepared.render(contact, Delivery(contact=contact, email_message=message, to_address=contact.email))
    assert f"Hi {other_batch}" in rendered.html and f"Hi {other_batch}" in rendered.text
