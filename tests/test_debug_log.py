"""With DEBUG on, every recorded event is logged, so a developer sees tracking work."""

import logging

import pytest
from django.test import override_settings

from tests import factories
from wagtail_segments.tracking.recorder import record_event

pytestmark = pytest.mark.django_db

LOGGER = "wagtail_segments.tracking.debug_log"


def test_a_recorded_event_is_logged_when_debug_is_on(caplog):
    visitor = factories.contact()
    with override_settings(DEBUG=True), caplog.at_level(logging.INFO, logger=LOGGER):
        event = record_event(visitor.pk, "custom", path="/pricing/")
    (record,) = [r for r in caplog.records if r.name == LOGGER]
    assert record.getMessage() == f"Recorded custom event {event.pk} for contact {visitor.pk} on /pricing/"


def test_nothing_is_logged_in_production(caplog):
    visitor = factories.contact()
    with caplog.at_level(logging.INFO, logger=LOGGER):
        record_event(visitor.pk, "custom", path="/pricing/")
    assert not [r for r in caplog.records if r.name == LOGGER]
