"""webhook: a signed JSON POST; a timeout or a non-2xx answer retries with the engine's back-off."""

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from tests import factories
from wagtail_segments.campaigns.actions import action_problems
from wagtail_segments.campaigns.executor import run_due_steps
from wagtail_segments.campaigns.models import Run, StepLog

pytestmark = pytest.mark.django_db

SECRET = "s3cret"


class Receiver:
    """A local HTTP server that records each POST and answers with ``status`` after ``delay``."""

    def __init__(self):
        self.requests, self.status, self.delay = [], 200, 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                time.sleep(receiver.delay)
                self.send_response(receiver.status)
                self.send_header("Location", "http://127.0.0.1:1/elsewhere")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False  # a handler still sleeping does not hold the test up
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    settings.WAGTAIL_SEGMENTS = {**settings.WAGTAIL_SEGMENTS, "WEBHOOK_SECRET": SECRET,
                                 "WEBHOOK_TIMEOUT_SECONDS": 0.5, "CAMPAIGN_MAX_ATTEMPTS": 2}
    with Receiver() as running:
        yield running


def webhook_run(url, contact=None, **config):
    campaign = factories.campaign(name="Leads")
    factories.step(campaign, "action", name="Tell the CRM", action="webhook", url=url, **config)
    return factories.run(campaign, contact or factories.contact(email="ada@example.com", first_name="Ada"))


def due_again(run):
    Run.objects.filter(pk=run.pk).update(next_due_at=timezone.now())


def test_the_post_carries_the_contact_and_a_signature_that_verifies(receiver):
    run = webhook_run(receiver.url)

    run_due_steps()
    run_due_steps()

    [(headers, body)] = receiver.requests
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Wagtail-Segments-Signature"], expected)
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Wagtail-Segments-Idempotency-Key"] == f"{run.pk}:{run.step.key}"
    payload = json.loads(body)
    assert payload["contact"] == {"id": str(run.contact.uuid), "email": "ada@example.com", "first_name": "Ada",
                                  "last_name": "", "phone": ""}
    assert payload["campaign"] == {"id": run.campaign_id, "name": "Leads"}
    assert payload["step"] == {"key": str(run.step.key), "name": "Tell the CRM"} and payload["run"] == run.pk
    run.refresh_from_db()
    assert run.state == "completed"
    assert StepLog.objects.get(run=run).result == {"url": receiver.url, "status": 200}


def test_a_secret_chosen_by_name_signs_instead(settings, receiver):
    settings.WAGTAIL_SEGMENTS = {**settings.WAGTAIL_SEGMENTS, "WEBHOOK_SECRETS": {"crm": "other"}}
    webhook_run(receiver.url, secret_name="crm")
    run_due_steps()
    [(headers, body)] = receiver.requests
    assert headers["X-Wagtail-Segments-Signature"] == "sha256=" + hmac.new(b"other", body, hashlib.sha256).hexdigest()


def test_a_timeout_retries_with_back_off_then_fails_the_run(receiver):
    receiver.delay = 1.5
    run = webhook_run(receiver.url)

    before = timezone.now()
    run_due_steps()
    run.refresh_from_db()
    assert (run.state, run.attempts) == ("active", 1)
    assert "No answer" in run.last_error and "timed out" in run.last_error
    assert 55 <= (run.next_due_at - before).total_seconds() <= 65  # the engine's back-off

    run_due_steps()  # not due yet: no second call
    assert len(receiver.requests) == 1
    due_again(run)
    run_due_steps()

    run.refresh_from_db()
    assert (run.state, run.attempts, run.next_due_at) == ("failed", 2, None)
    assert len(receiver.requests) == 2
    assert StepLog.objects.get(run=run).state == "failed"


@pytest.mark.parametrize("status", [500, 404, 302])
def test_an_answer_other_than_2xx_is_retried(receiver, status):
    receiver.status = status
    run = webhook_run(receiver.url)
    key = f"{run.pk}:{run.step.key}"

    run_due_steps()
    run.refresh_from_db()
    assert (run.state, run.attempts) == ("active", 1) and f"answered {status}" in run.last_error

    receiver.status = 204
    due_again(run)
    run_due_steps()
    run.refresh_from_db()
    assert run.state == "completed" and len(receiver.requests) == 2  # a redirect is never followed
    keys = {headers["X-Wagtail-Segments-Idempotency-Key"] for headers, _ in receiver.requests}
    assert keys == {key}


def test_problems_name_a_bad_url_and_a_missing_secret(settings):
    assert action_problems({"action": "webhook", "url": "ftp://example.com/x"}) == [
        "“ftp://example.com/x” is not an http or https URL.",
        "Webhooks are signed: give the step a secret or set WEBHOOK_SECRET.",
    ]
    assert action_problems({"action": "webhook", "url": "file:///etc/passwd", "secret": "x"}) == [
        "“file:///etc/passwd” is not an http or https URL."]
    assert action_problems({"action": "webhook", "url": "https://crm.example.com/h", "secret_name": "crm"}) == [
        "The secret “crm” is not in the WEBHOOK_SECRETS setting."]
    assert action_problems({"action": "webhook", "url": "https://crm.example.com/h", "secret": "x"}) == []
    settings.WAGTAIL_SEGMENTS = {**settings.WAGTAIL_SEGMENTS, "WEBHOOK_SECRET": "site-wide"}
    assert action_problems({"action": "webhook", "url": "https://crm.example.com/h"}) == []
