"""webhook: a signed JSON POST; a timeout or a non-2xx answer retries with the engine's back-off; internal
addresses are refused unless WEBHOOK_ALLOW_PRIVATE_ADDRESSES allows them (tests/test_public_http.py has each kind)."""

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
def local_receiver(settings):
    """A receiver on this machine, with the site's default guard: internal addresses refused."""
    settings.WAGTAIL_SEGMENTS = {**settings.WAGTAIL_SEGMENTS, "WEBHOOK_SECRET": SECRET,
                                 "WEBHOOK_TIMEOUT_SECONDS": 0.5, "CAMPAIGN_MAX_ATTEMPTS": 2}
    with Receiver() as running:
        yield running


@pytest.fixture
def receiver(settings, local_receiver):
    """A receiver on this machine that the site is allowed to call, as an internal CRM is."""
    settings.WAGTAIL_SEGMENTS = {**settings.WAGTAIL_SEGMENTS, "WEBHOOK_ALLOW_PRIVATE_ADDRESSES": True}
    return local_receiver


@pytest.fixture
def resolving(monkeypatch):
    """Make host names resolve to chosen addresses (as a DNS answer would), for the guard's
    one lookup."""
    from wagtail_segments.campaigns import public_http

    names, real = {}, public_http.socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        return real(names.get(host, host), *args, **kwargs)

    monkeypatch.setattr(public_http.socket, "getaddrinfo", getaddrinfo)
    return names


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


def test_a_host_on_the_sites_own_machine_is_refused_by_default_and_the_step_says_why(local_receiver, resolving):
    resolving["crm.example.com"] = "127.0.0.1"
    url = local_receiver.url.replace("127.0.0.1", "crm.example.com")
    run = webhook_run(url)

    run_due_steps()

    run.refresh_from_db()
    assert local_receiver.requests == []
    assert (run.state, run.attempts) == ("active", 1)  # retried with the back-off, as any failure
    expected = (f"Refused to call {url}: crm.example.com resolves only to internal addresses: 127.0.0.1 "
                "(loopback). Webhooks call only public addresses unless the WEBHOOK_ALLOW_PRIVATE_ADDRESSES "
                "setting allows internal ones.")
    assert run.last_error == f"WebhookFailed: {expected}"
    assert StepLog.objects.get(run=run).error == f"WebhookFailed: {expected}"


def test_the_name_goes_in_the_host_header_while_the_connection_goes_to_the_checked_address(receiver, resolving):
    resolving["crm.example.com"] = "127.0.0.1"
    port = receiver.server.server_address[1]

    webhook_run(f"http://crm.example.com:{port}/hook")
    run_due_steps()

    [(headers, _body)] = receiver.requests
    assert headers["Host"] == f"crm.example.com:{port}"


@pytest.mark.parametrize("url, kind", [
    ("http://127.0.0.1/hook", "loopback"), ("http://10.0.0.8:8080/hook", "private"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"), ("http://[::1]/hook", "loopback"),
    ("http://[::ffff:192.168.0.1]/hook", "private"), ("http://0.0.0.0/hook", "unspecified"),
])
def test_a_url_with_an_internal_address_written_in_it_is_refused_when_checked(settings, url, kind):
    settings.WAGTAIL_SEGMENTS = {**settings.WAGTAIL_SEGMENTS, "WEBHOOK_SECRET": SECRET}
    config = {"action": "webhook", "url": url}

    assert action_problems(config) == [
        f"“{url}” is an internal address ({kind}): webhooks call only public addresses unless the "
        "WEBHOOK_ALLOW_PRIVATE_ADDRESSES setting allows internal ones."]
    settings.WAGTAIL_SEGMENTS = {**settings.WAGTAIL_SEGMENTS, "WEBHOOK_ALLOW_PRIVATE_ADDRESSES": True}
    assert action_problems(config) == []


def test_https_names_and_verifies_the_host_while_connecting_to_the_checked_address(receiver, resolving, tmp_path,
                                                                                     monkeypatch):
    import ssl
    import subprocess
    import urllib.request

    from wagtail_segments.campaigns import public_http, webhook

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=crm.example.com", "-addext", "subjectAltName=DNS:crm.example.com",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    names = []
    server_context.sni_callback = lambda sock, name, context: names.append(name)
    receiver.server.socket = server_context.wrap_socket(receiver.server.socket, server_side=True)
    client_context = ssl.create_default_context(cafile=str(cert))  # the site trusts this certificate
    monkeypatch.setattr(webhook, "_opener", urllib.request.build_opener(
        urllib.request.ProxyHandler({}), public_http.PublicHTTPSHandler(context=client_context),
        public_http.NoRedirects))
    resolving["crm.example.com"] = "127.0.0.1"
    port = receiver.server.server_address[1]

    ok = webhook_run(f"https://crm.example.com:{port}/hook")
    run_due_steps()
    wrong_name = webhook_run(f"https://127.0.0.1:{port}/hook", factories.contact(email="b@example.com"))
    run_due_steps()

    ok.refresh_from_db(), wrong_name.refresh_from_db()
    assert ok.state == "completed" and names[0] == "crm.example.com"
    assert len(receiver.requests) == 1 and receiver.requests[0][0]["Host"] == f"crm.example.com:{port}"
    assert wrong_name.state == "active" and "CERTIFICATE_VERIFY_FAILED" in wrong_name.last_error
