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

from . import segment_views  # noqa: E402

urlpatterns += [
    path("segments/<int:pk>/members/", segment_views.segment_members, name="wagtail_segments_segment_members"),
    path("segments/<int:pk>/members/add/", segment_views.segment_add_member, name="wagtail_segments_segment_add_member"),
    path("segments/<int:pk>/members/remove/", segment_views.segment_remove_member,
         name="wagtail_segments_segment_remove_member"),
    path("segments/<int:pk>/rebuild/", segment_views.segment_rebuild, name="wagtail_segments_segment_rebuild"),
    path("segments/<int:pk>/export/", segment_views.segment_export, name="wagtail_segments_segment_export"),
    path("segments/<int:pk>/import/", segment_views.segment_import, name="wagtail_segments_segment_import"),
    path("segments/<int:pk>/import/<str:job>/", segment_views.segment_import_progress,
         name="wagtail_segments_segment_import_progress"),
]
