"""The admin URLs of the screens that are Wagtail views rather than modeladmin's."""

from django.urls import path

from .segments import rules_preview

urlpatterns = [
    path("segments/preview/", rules_preview, name="wagtail_segments_rules_preview"),
]

from .bulk import bulk_contacts, bulk_progress  # noqa: E402

urlpatterns += [
    path("contacts/bulk/", bulk_contacts, name="wagtail_segments_contacts_bulk"),
    path("contacts/bulk/<str:job>/", bulk_progress, name="wagtail_segments_contacts_bulk_progress"),
]

from . import contact_views  # noqa: E402

urlpatterns += [
    path("contacts/<int:pk>/tags/", contact_views.contact_tags, name="wagtail_segments_contact_tags"),
    path("contacts/<int:pk>/touchpoint/", contact_views.contact_touchpoint, name="wagtail_segments_contact_touchpoint"),
    path("contacts/<int:pk>/export/", contact_views.contact_export, name="wagtail_segments_contact_export"),
    path("contacts/<int:pk>/erase/", contact_views.contact_erase, name="wagtail_segments_contact_erase"),
]
