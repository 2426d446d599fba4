"""Public endpoints of the app (email links, preferences, inbound texts). Include them in the
site's urls.py::

    path("_segments/", include("wagtail_segments.urls")),
"""

from django.urls import path

from wagtail_segments.messaging import preferences, sms_views, views

app_name = "wagtail_segments"

urlpatterns = [
    path("o/<str:token>/", views.email_open, name="email_open"),
    path("c/<str:token>/", views.email_click, name="email_click"),
    path("u/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("p/<str:token>/", preferences.preferences, name="preferences"),
    path("confirm/<str:token>/", preferences.confirm, name="confirm"),
    path("sms/inbound/", sms_views.sms_inbound, name="sms_inbound"),
    path("sms/inbound/<str:token>/", sms_views.sms_inbound, name="sms_inbound"),
]
