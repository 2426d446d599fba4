from wagtail import hooks

from .tracking.pages import track_page_view

# Above Wagtail's own view-restriction wrapper (order 0), so it runs inside it.
hooks.register("on_serve_page", track_page_view, order=100)

from .admin import menu  # noqa: E402,F401  (registers the Marketing menu)
from .admin.audit import register_log_actions  # noqa: E402

hooks.register("register_log_actions", register_log_actions)


@hooks.register("register_admin_urls")
def register_admin_urls():
    from django.urls import include, path

    from .admin import urls

    return [path("marketing/", include(urls))]


@hooks.register("register_admin_viewset")
def register_choosers():
    from .admin.choosers import company_chooser_viewset, user_chooser_viewset

    return [company_chooser_viewset, user_chooser_viewset]


from .admin.dashboard import homepage_panels  # noqa: E402

hooks.register("construct_homepage_panels", homepage_panels)


@hooks.register("insert_global_admin_css")
def marketing_admin_css():
    """The marketing screens' few styles (wsg- classes only), also needed by the dashboard panels."""
    from django.templatetags.static import static
    from django.utils.html import format_html

    return format_html('<link rel="stylesheet" href="{}">', static("wagtail_segments/admin/admin.css"))


@hooks.register("register_permissions")
def form_mapping_permissions():
    """The form mappings are no modeladmin model, so their permissions are offered to groups
    (Settings → Groups) here."""
    from django.contrib.auth.models import Permission

    return Permission.objects.filter(
        content_type__app_label="wagtail_segments", codename__in=["view_formmapping", "change_formmapping"],
    )
