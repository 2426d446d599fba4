"""SMS backends: chosen by a setting, per-message results, fail_silently as in Django mail."""

import io

import pytest

from wagtail_segments.messaging import sms
from wagtail_segments.messaging.sms import BaseSmsBackend, OutboundSms, get_backend
from wagtail_segments.messaging.sms.console import ConsoleSmsBackend
from wagtail_segments.messaging.sms.locmem import LocmemSmsBackend


class Flaky(BaseSmsBackend):
    """Refuses numbers ending in 0, like a provider refusing a number."""

    def send_one(self, message):
        if message.to.endswith("0"):
            raise ConnectionError("provider refused the number")
        return f"id-{message.to}"


MESSAGES = [OutboundSms(to="+14155552671", body="one"), OutboundSms(to="+14155552670", body="two")]


def test_the_console_backend_is_the_default_and_prints_each_text():
    backend = get_backend()
    assert isinstance(backend, ConsoleSmsBackend)
    stream = io.StringIO()
    results = ConsoleSmsBackend(stream=stream).send_messages(MESSAGES)
    assert [r.ok for r in results] == [True, True]
    assert results[0].provider_id.startswith("console-")
    assert "SMS to +14155552671" in stream.getvalue() and "two" in stream.getvalue()


def test_the_in_memory_backend_keeps_texts_in_the_outbox(sms_outbox):
    assert isinstance(get_backend(), LocmemSmsBackend)
    get_backend().send_messages(MESSAGES)
    assert [m.body for m in sms.outbox] == ["one", "two"]


def test_a_failing_message_raises_unless_fail_silently():
    with pytest.raises(ConnectionError):
        Flaky().send_messages(MESSAGES)
    results = Flaky(fail_silently=True).send_messages(MESSAGES)
    assert results[0].provider_id == "id-+14155552671" and results[0].ok
    assert not results[1].ok and "provider refused" in results[1].error


def test_a_backend_must_say_how_it_sends():
    with pytest.raises(NotImplementedError):
        BaseSmsBackend().send_messages(MESSAGES)
