"""docs/installation.md, followed on a fresh ``wagtail start`` site.

The test reads the steps from the doc itself: every fenced block after an
``<!-- install: ACTION [PATH] -->`` comment is applied as the doc says (``append`` to a file,
``write`` a file, ``run`` the ``manage.py`` commands), so the doc cannot drift from what works.
Two kinds are not carried out, each for a stated reason: ``pip`` (the checkout under test is
put on ``PYTHONPATH`` instead of installed into the shared environment) and ``long-running``
(``runserver`` is replaced by Django's test client in a child process; the worker only updates
what is derived from events, which this test does not look at). The one step of the doc that
is not code, adding the contact page in the admin, is done through the ORM.

It runs once, in the SQLite run of the suite: the steps are written for a ``wagtail start``
site, whose database is SQLite, and run in child processes against a database of their own,
so the PostgreSQL run (``TEST_DATABASE_URL``) would repeat the very same thing.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import BROWSER_UA

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "installation.md"
STEP = re.compile(r"<!-- install: (?P<action>[\w-]+)(?: (?P<path>\S+))? -->\n```\w*\n(?P<code>.*?)```", re.S)

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("TEST_DATABASE_URL")), reason="runs once, in the SQLite run (see the docstring)"
)

# The doc's admin step (a contact page under the home page, with an email field), then a
# visitor with a browser's user agent: the home page, the form, a submission.
VISIT = """
import io, json, os
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings.dev")
django.setup()
from django.core.management import call_command
from django.test import Client
from home.models import ContactFormField, ContactPage, HomePage
from wagtail_segments.contacts.models import Contact

home = HomePage.objects.get()
page = home.add_child(instance=ContactPage(title="Contact", slug="contact"))
ContactFormField.objects.create(page=page, label="Your email", field_type="email", required=True)
page.save_revision().publish()

visitor = Client(HTTP_USER_AGENT=%(ua)r)
answers = [visitor.get("/").status_code, visitor.get("/contact/").status_code,
           visitor.post("/contact/", {"your_email": "ann@example.com"}).status_code]
contacts = [
    {"email": contact.email, "events": [event.kind for event in contact.events.order_by("id")]}
    for contact in Contact.objects.all()
]
from urllib.parse import urlsplit
from wagtail_segments.messaging.links import preference_url

link = preference_url(Contact.objects.get())
preferences = Client().get(urlsplit(link).path)
answers.append(preferences.status_code)
answers.append("ann@example.com" in preferences.content.decode())
recent = io.StringIO()
call_command("recent_events", stdout=recent)  # as the doc tells a developer to check
from wagtail_segments.contacts.countries import country_name  # named through django-countries' catalogues
print(json.dumps({"answers": answers, "contacts": contacts, "recent": recent.getvalue().splitlines(), "link": link,
                  "country": country_name("DE", "fr")}))
"""


def doc_steps() -> list[tuple[str, str | None, str]]:
    return [(m["action"], m["path"], m["code"]) for m in STEP.finditer(DOC.read_text())]


def run(site: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "TEST_DATABASE_URL", "DATABASE_URL")}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, *args], cwd=site, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def apply(site: Path, action: str, path: str | None, code: str) -> list[str]:
    """Carry out one step of the doc; returns the output of the commands it ran."""
    if action in ("pip", "long-running"):
        return []
    if action == "append":
        with open(site / path, "a") as target:
            target.write("\n\n" + code)
        return []
    if action == "write":
        (site / path).parent.mkdir(parents=True, exist_ok=True)
        (site / path).write_text(code)
        return []
    if action == "run":
        outputs = []
        for line in code.splitlines():
            command = line.split("#")[0].split()
            assert command[:2] == ["python", "manage.py"], f"the test cannot run {line!r}"
            outputs.append(run(site, *command[1:]))
        return outputs
    raise AssertionError(f"docs/installation.md has a step the test does not know: {action}")


def test_the_installation_doc_works_on_a_fresh_wagtail_start_site(tmp_path):
    steps = doc_steps()
    assert {action for action, _, _ in steps} >= {"pip", "append", "run", "write"}
    site = tmp_path / "site"
    site.mkdir()
    run(tmp_path, "-m", "wagtail.bin.wagtail", "start", "mysite", str(site))

    outputs = [output for step in steps for output in apply(site, *step)]

    check = outputs[0]
    assert "System check identified no issues" in check and "wagtail_segments." not in check
    printed = run(site, "-c", VISIT % {"ua": BROWSER_UA}).splitlines()
    visit = json.loads(next(line for line in printed if line.startswith("{")))
    # the home page, the form, a submission; the preference page of an email link (urls.py step)
    assert visit["answers"] == [200, 200, 200, 200, True]
    (contact,) = visit["contacts"]
    assert contact == {"email": "ann@example.com", "events": ["page_view", "page_view", "form_submission"]}
    assert visit["recent"][0].split()[2:] == ["form_submission", "contact", "1", "(ann@example.com)", "/contact/"]
    # email links lead to the runserver of the doc, not to the fresh site's http://localhost/
    assert visit["link"].startswith("http://127.0.0.1:8000/_segments/p/")
    assert visit["country"] == "Allemagne"  # the INSTALLED_APPS step lets Django find its translations
