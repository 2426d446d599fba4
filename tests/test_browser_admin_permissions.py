"""An editor without the "edit segment rules" and "export contacts" permissions is refused
both in the browser: the segment's rules are not in its form, and an export answers 403 on
an admin page that says why; axe-core finds nothing serious on either."""

import pytest
from playwright.sync_api import expect

from tests import factories
from tests.admin_helpers import editor
from tests.axe import assert_accessible
from tests.browser import site_served_by
from tests.segment_helpers import rule, segment
from tests.test_browser_admin import sign_in

pytestmark = pytest.mark.django_db(transaction=True)

ARTIFACTS = "tests/artifacts"


def test_editor_is_refused_rules_and_export(page, live_server, live_requests):
    site_served_by(live_server)
    vip = segment(rule("tags", tags="vip"), name="VIPs", slug="vips", build=False)
    ann = factories.contact(email="ann@example.com")
    user = editor("writer", "view_contact", "change_contact", "change_segment")
    user.set_password("correct horse")
    user.save()

    sign_in(page, "writer", "correct horse")
    page.goto(f"/admin/wagtail_segments/segment/edit/{vip.pk}/")
    expect(page.get_by_text("needs the “Can edit segment rules” permission")).to_be_visible()
    expect(page.locator("[data-wsg-rules-preview]")).to_have_count(0)
    expect(page.get_by_label("Match")).to_have_count(0)
    page.screenshot(path=f"{ARTIFACTS}/segment_rules_refused.png")
    assert_accessible(page)

    response = page.goto(f"/admin/marketing/contacts/bulk/?action=export&scope=selected&id={ann.pk}")
    assert response.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    expect(page.get_by_role("alert")).to_have_text("“Export as CSV” needs the permission “Can export contacts”; ask an administrator.")
    page.screenshot(path=f"{ARTIFACTS}/export_refused.png")
    assert_accessible(page)

    page.goto("/admin/wagtail_segments/contact/")
    # Only the actions the editor may run are offered: no export, no delete.
    expect(page.get_by_label("Bulk action").locator("option")).to_have_text(
        ["Add to a segment", "Remove from a segment", "Add a tag", "Remove a tag"])
