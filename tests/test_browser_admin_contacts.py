"""In a real browser: an editor opens a contact and reads a form submission under the form's
labels on the timeline; imports a CSV with two bad rows into a segment and reads the report;
and the dashboard. axe-core finds nothing serious or critical on any of these screens."""

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from tests import factories
from tests.axe import assert_accessible
from tests.browser import site_served_by
from tests.test_browser_admin import sign_in
from wagtail_segments.segments.models import Segment

pytestmark = pytest.mark.django_db(transaction=True)

ARTIFACTS = "tests/artifacts"


@pytest.fixture
def editor_user(live_server):
    site_served_by(live_server)
    return get_user_model().objects.create_superuser("editor", "editor@example.com", "correct horse")


def test_editor_reads_a_form_submission_under_its_labels_on_the_timeline(page, live_requests, editor_user):
    form = factories.form_page("Newsletter", fields=[("Your interest", "dropdown"), ("Email", "email")])
    ann = factories.contact(email="ann@example.com", first_name="Ann", points=12)
    ann.tags.add("fair")
    factories.event(ann, "page_view", page=factories.content_page("Pricing"), path="/pricing/")
    factories.event(ann, "form_submission", page=form, data={
        "form_page": form.pk, "form_title": "Newsletter",
        "answers": {"your_interest": "Demo", "email": "ann@example.com"},
    })
    sign_in(page, "editor", "correct horse")
    page.goto(f"/admin/wagtail_segments/contact/inspect/{ann.pk}/")

    expect(page.get_by_text("Submitted “Newsletter”")).to_be_visible()
    row = page.locator("tr.wsg-event--form_submission")
    expect(row.locator("dt", has_text="Your interest")).to_be_visible()
    expect(row.locator("dd.wsg-answer").first).to_have_text("Demo")
    expect(page.get_by_text("Viewed “Pricing”")).to_be_visible()
    page.set_viewport_size({"width": 1280, "height": 1600})
    page.screenshot(path=f"{ARTIFACTS}/contact_detail.png", full_page=True)
    assert_accessible(page)
    page.emulate_media(color_scheme="dark")
    page.screenshot(path=f"{ARTIFACTS}/contact_detail_dark.png", full_page=True)
    assert_accessible(page)
    page.emulate_media(color_scheme="light")

    page.get_by_role("link", name="Erase this contact…").click()
    expect(page.get_by_text("2 events on the timeline")).to_be_visible()
    page.screenshot(path=f"{ARTIFACTS}/contact_erase_confirm.png")
    assert_accessible(page)


def test_editor_imports_a_csv_with_two_bad_rows_and_reads_the_report(page, live_requests, editor_user, monkeypatch, tmp_path):
    from wagtail_segments.admin import segment_views

    def run_imports_at_once(func, *args, **kwargs):
        # No django-q2 cluster in the tests: the import's task runs at once, in the request.
        if func.endswith(".run_import_task"):
            segment_views.run_import_task(*args)

    monkeypatch.setattr("django_q.tasks.async_task", run_imports_at_once)
    segment = Segment.objects.create(name="Fair visitors", slug="fair", kind=Segment.Kind.STATIC, reminder_days=30)
    csv = tmp_path / "fair.csv"
    csv.write_text("email,first_name\ncid@example.com,Cid\nnot-an-email,Bad\ndee@example.com,Dee\n,Nobody\n")

    sign_in(page, "editor", "correct horse")
    page.goto("/admin/wagtail_segments/segment/")
    expect(page.get_by_text("All touched in time")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Members of Fair visitors").click()
    page.get_by_label("CSV file").set_input_files(str(csv))
    page.get_by_role("button", name="Import", exact=True).click()

    expect(page.get_by_text("2 contacts added to segment")).to_be_visible()
    report = page.locator("table", has_text="Rows that need attention")
    expect(report.locator("tbody tr")).to_have_count(2)
    expect(report.locator("tbody tr").first.locator("td").first).to_have_text("3")
    page.screenshot(path=f"{ARTIFACTS}/segment_import_report.png", full_page=True)
    assert_accessible(page)

    page.get_by_role("link", name="Back to the members").click()
    expect(page.get_by_role("link", name="Dee <dee@example.com>")).to_be_visible()
    page.screenshot(path=f"{ARTIFACTS}/segment_members.png", full_page=True)
    assert_accessible(page)

    page.goto("/admin/")
    expect(page.get_by_role("region", name="Segments")).to_be_visible()
    page.screenshot(path=f"{ARTIFACTS}/dashboard.png", full_page=True)
    assert_accessible(page)
