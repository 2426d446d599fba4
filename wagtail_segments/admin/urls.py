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

from . import campaigns, messages  # noqa: E402

urlpatterns += [
    path("campaigns/broadcast/", campaigns.broadcast, name="wagtail_segments_broadcast"),
    path("campaigns/<int:pk>/", campaigns.builder, name="wagtail_segments_campaign_builder"),
    path("campaigns/<int:pk>/steps/add/", campaigns.add_step, name="wagtail_segments_campaign_add_step"),
    path("campaigns/<int:pk>/activate/", campaigns.change_status, {"to": "activate"},
         name="wagtail_segments_campaign_activate"),
    path("campaigns/<int:pk>/pause/", campaigns.change_status, {"to": "pause"}, name="wagtail_segments_campaign_pause"),
    path("campaigns/<int:pk>/resume/", campaigns.change_status, {"to": "resume"},
         name="wagtail_segments_campaign_resume"),
    path("campaigns/<int:pk>/runs/", campaigns.campaign_runs, name="wagtail_segments_campaign_runs"),
    path("campaigns/steps/<int:pk>/edit/", campaigns.edit_step, name="wagtail_segments_campaign_edit_step"),
    path("campaigns/steps/<int:pk>/delete/", campaigns.delete_step, name="wagtail_segments_campaign_delete_step"),
    path("campaigns/steps/<int:pk>/move/", campaigns.move_step, name="wagtail_segments_campaign_move_step"),
    path("campaigns/runs/<int:pk>/", campaigns.run_detail, name="wagtail_segments_campaign_run"),
    path("campaigns/logs/<int:pk>/resolve/", campaigns.resolve_unknown, name="wagtail_segments_resolve_unknown"),
    path("messages/email/<int:pk>/preview/", messages.email_preview, name="wagtail_segments_email_preview"),
    path("messages/sms/<int:pk>/preview/", messages.sms_preview, name="wagtail_segments_sms_preview"),
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

from .reports import report_urls  # noqa: E402

urlpatterns += report_urls()

from .form_mappings import form_mapping_urls  # noqa: E402

urlpatterns += form_mapping_urls()
