"""Merge fields in message text: contact fields with fallbacks, properties, clear errors."""

import pytest

from tests import factories
from wagtail_segments.messaging.merge import MergeFieldError, merge_field_problems, render_text

pytestmark = pytest.mark.django_db


def test_first_name_with_a_fallback():
    text = 'Hi {{ first_name|default:"there" }}!'
    assert render_text(text, factories.contact(first_name="Ada")) == "Hi Ada!"
    assert render_text(text, factories.contact()) == "Hi there!"


def test_properties_are_merge_fields_and_text_is_not_escaped():
    contact = factories.contact(first_name="Tom & <Jerry>", properties={"plan": "gold"})
    assert render_text("{{ first_name }}: {{ plan }} / {{ properties.plan }}", contact) == "Tom & <Jerry>: gold / gold"
    assert render_text("{{ first_name }}", contact, autoescape=True) == "Tom &amp; &lt;Jerry&gt;"


def test_a_broken_template_is_a_clear_error():
    assert merge_field_problems("Hi {{ first_name|nosuchfilter }}")
    assert merge_field_problems("Hi {{ first_name }}") == []
    with pytest.raises(MergeFieldError, match="merge fields"):
        render_text("Hi {% if %}", factories.contact())


def test_templates_cannot_reach_the_sites_files():
    with pytest.raises(MergeFieldError):
        render_text('{% include "wagtail_segments/admin/contact_inspect.html" %}', factories.contact())
