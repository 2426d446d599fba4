"""The admin URLs of the screens that are Wagtail views rather than modeladmin's."""

from django.urls import path

from .segments import rules_preview

urlpatterns = [
    path("segments/preview/", rules_preview, name="wagtail_segments_rules_preview"),
]
