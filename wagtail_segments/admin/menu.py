"""The Marketing menu: a wagtail-modeladmin group, as the project's users asked.

modeladmin does lists, forms and inspect views well; screens it cannot do well (builders,
reports, dashboard panels, bulk actions) use Wagtail's own views (docs/architecture.md).
"""

import functools

from django import forms
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from wagtail_modeladmin.options import ModelAdmin, ModelAdminGroup, modeladmin_register
from wagtail_modeladmin.helpers import ButtonHelper
from wagtail_modeladmin.views import CreateView, EditView, IndexView

from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.panels import FieldPanel, FieldRowPanel, MultiFieldPanel, ObjectList
from wagtail.admin.widgets import AdminPageChooser
from wagtail.admin.widgets.slug import SlugInput

from wagtail_segments.campaigns.models import LIVE_STATES, Campaign, Run
from wagtail_segments.messaging.models import EmailMessage, SmsMessage
from wagtail_segments.segments.choosers import form_page_models

from wagtail_segments.contacts.countries import country_label
from wagtail_segments.contacts.models import Company, Contact, PropertyDefinition
from wagtail_segments.contacts.tag_widget import ContactTagWidget
from wagtail_segments.segments.models import Segment

from .audit import RULES_CHANGED, record
from .campaign_forms import WEEKDAYS
from .campaigns import ACTIVATE, BROADCAST
from .campaigns import VIEW as CAMPAIGN_VIEW
from .filters import CountryFilter, IdentityFilter, LastSeenFilter, PointsFilter, SegmentFilter, TagFilter
from .merge_fields import MergeFieldsPanel
from .segments import EDIT_RULES, NameFieldPanel, RulesLockedPanel, RulesPreviewPanel, comparable_rules
from .contact_form import ContactForm, ObjectListWithProperties, PropertiesPanel
from .contact_views import ContactDetailView
from .choosers import company_chooser_viewset, user_chooser_viewset
from .widgets import OneTagField


@functools.cache
def counted_once(queryset_class: type) -> type:
    """``queryset_class`` whose instances run their COUNT once: modeladmin's listing counts
    its queryset, then hands the same queryset to its paginator, which counts it again (on a
    million contacts each count is a scan of the index). Copies of the queryset count anew."""

    class CountedOnce(queryset_class):
        def count(self) -> int:
            if "_wsg_count" not in self.__dict__:
                self._wsg_count = super().count()
            return self._wsg_count

    return CountedOnce


class ContactIndexView(IndexView):
    """The listing sorts by the model's ordering (never-seen contacts last, an expression);
    modeladmin's column headers read that ordering as field names, so they get the names."""

    def get_queryset(self, request=None):
        queryset = super().get_queryset(request)
        queryset.__class__ = counted_once(queryset.__class__)
        return queryset

    def _get_default_ordering(self):
        return ["-last_seen", "-pk"]

    def get(self, request, *args, **kwargs):
        # bulk.contacts_matching() asks the listing for its filtered queryset, not a page.
        if getattr(request, "wsg_queryset_only", False):
            return self.queryset
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        from .bulk_actions import ACTIONS

        user = self.request.user
        return super().get_context_data(
            bulk_actions=[action for action in ACTIONS.values() if user.has_perm(action.permission)],
            bulk_filters=self.params.urlencode() if hasattr(self.params, "urlencode") else "",
            **kwargs,
        )


class ContactAdmin(ModelAdmin):
    model = Contact
    menu_label = _("Contacts")
    menu_icon = "user"
    list_display = ("select", "contact", "company_name", "points", "country_name", "first_seen", "last_seen")
    list_display_add_buttons = "contact"
    list_filter = (IdentityFilter, SegmentFilter, TagFilter, LastSeenFilter, PointsFilter, CountryFilter,
                   "do_not_email")
    search_fields = ("email", "first_name", "last_name", "phone", "company__name")
    inspect_view_enabled = True
    inspect_view_class = ContactDetailView
    inspect_template_name = "wagtail_segments/admin/contact_inspect.html"
    inspect_view_extra_css = ["wagtail_segments/admin/admin.css"]
    form_view_extra_css = ["wagtail_segments/admin/admin.css"]
    # Properties as typed fields, never a JSON box (admin/contact_form.py).
    edit_handler = ObjectListWithProperties([
        FieldPanel("email"),
        FieldRowPanel([FieldPanel("first_name"), FieldPanel("last_name")]),
        FieldRowPanel([FieldPanel("phone"), FieldPanel("country")]),
        # Choosers, not selects: a million contacts may come with tens of thousands of companies.
        FieldRowPanel([FieldPanel("company", widget=company_chooser_viewset.widget_class()),
                       FieldPanel("user", widget=user_chooser_viewset.widget_class())]),
        PropertiesPanel(heading=_("Properties"), other_help=_(
            "Stored by forms, imports or code under keys no contact property declares: kept as they are when "
            "you save. Declare one under Marketing → Contact properties to edit it here.")),
        FieldPanel("tags", widget=ContactTagWidget()),
        FieldRowPanel([FieldPanel("points"), FieldPanel("first_seen"), FieldPanel("last_seen")]),
        FieldPanel("time_zone", help_text=_("Send windows open in the contact's time zone; none chosen: the site's.")),
        FieldRowPanel([FieldPanel("do_not_email"), FieldPanel("do_not_email_reason")]),
        FieldRowPanel([FieldPanel("do_not_sms"), FieldPanel("do_not_sms_reason")]),
    ], base_form_class=ContactForm)
    index_view_class = ContactIndexView
    list_per_page = 50  # each row renders several columns: 100 cost a quarter second at 1M
    index_template_name = "wagtail_segments/admin/contact_index.html"
    index_view_extra_css = ["wagtail_segments/admin/admin.css"]

    def select(self, contact: Contact) -> str:
        """A checkbox of the bulk-action form above the listing (``form`` links it there)."""
        return format_html(
            '<input type="checkbox" name="id" value="{}" form="wsg-bulk" aria-label="{}">',
            contact.pk, _("Select %(contact)s") % {"contact": contact},
        )

    select.short_description = _("Select")

    def contact(self, contact: Contact) -> str:
        return str(contact)

    contact.short_description = _("Contact")
    contact.admin_order_field = "email_key"  # the unique index: sorting a million rows is a walk

    def company_name(self, contact: Contact) -> str:
        return contact.company.name if contact.company else ""

    company_name.short_description = _("Company")
    company_name.admin_order_field = "company__name"

    def country_name(self, contact: Contact) -> str:
        return country_label(contact.country)

    country_name.short_description = _("Country")
    country_name.admin_order_field = "country"

    def get_queryset(self, request):
        return super().get_queryset(request).live().select_related("company")


class CompanyAdmin(ModelAdmin):
    model = Company
    menu_label = _("Companies")
    menu_icon = "site"
    list_display = ("name", "domain")
    search_fields = ("name", "domain")
    form_view_extra_css = ["wagtail_segments/admin/admin.css"]
    # No company property is declared anywhere: what code or imports stored is shown, not edited.
    panels = [FieldPanel("name"), FieldPanel("domain"), PropertiesPanel(heading=_("Properties"), other_help=_(
        "Stored by imports or code; kept as they are when you save."))]


class PropertyDefinitionAdmin(ModelAdmin):
    model = PropertyDefinition
    menu_label = _("Contact properties")
    menu_icon = "list-ul"
    list_display = ("label", "key", "type")
    search_fields = ("key", "label")
    # The key follows the label as it is typed (a new property only): a marketer names the
    # property, the key is derived, with underscores so that merge fields can read it.
    panels = [
        NameFieldPanel("label", targets=["key"], placeholder=False, classname=""),
        FieldPanel("key", widget=SlugInput(formatters=[(r"[\s-]+", "_")],
                                           attrs={"data-w-slug-allow-unicode-value": False}),
                   help_text=_("How forms, imports, messages ({{ properties.key }}) and code name it; "
                               "filled in from the label.")),
        FieldPanel("type"),
        FieldPanel("description"),
    ]


class RulesAuditMixin:
    """Saving a segment whose match or rules changed records the change in the audit log,
    beside modeladmin's own create/edit entry, so a segment's history says who changed who
    it targets."""

    def form_valid(self, form):
        # The form has already put the posted rules on its instance: read the stored ones.
        stored = Segment.objects.filter(pk=form.instance.pk).first() if form.instance.pk else None
        before = comparable_rules(stored.match, stored.rules) if stored else None
        response = super().form_valid(form)
        after = comparable_rules(self.instance.match, self.instance.rules)
        if after != before and (before is not None or after[1]):
            record(self.instance, RULES_CHANGED, user=self.request.user,
                   match=after[0], rules=after[1], previous_rules=before[1] if before else None)
        return response


class SegmentCreateView(RulesAuditMixin, CreateView):
    pass


class SegmentEditView(RulesAuditMixin, EditView):
    pass


class SegmentAdmin(ModelAdmin):
    """Segments, their rules edited in Wagtail's block editor with choosers, and a live
    preview of who the unsaved rules match. Editing rules needs its own permission."""

    model = Segment
    menu_label = _("Segments")
    menu_icon = "group"
    list_display = ("name", "kind", "member_count", "active", "last_rebuilt_at", "problems", "reminders", "members")
    index_view_extra_css = ["wagtail_segments/admin/admin.css"]
    list_filter = ("kind", "active")
    search_fields = ("name", "slug", "description")
    create_view_class = SegmentCreateView
    edit_view_class = SegmentEditView
    form_view_extra_css = ["wagtail_segments/admin/admin.css"]
    panels = [
        FieldRowPanel([NameFieldPanel("name", classname="", placeholder=False),
                       FieldPanel("slug", widget=SlugInput)]),
        FieldPanel("description"),
        FieldRowPanel([FieldPanel("kind"), FieldPanel("active")]),
        MultiFieldPanel(
            [FieldPanel("match", permission=EDIT_RULES), FieldPanel("rules", permission=EDIT_RULES),
             RulesLockedPanel()],
            heading=_("Rules"),
        ),
        RulesPreviewPanel(heading=_("Who these rules match")),
        FieldRowPanel(
            [FieldPanel("reminder_days"), FieldPanel("automatic_touchpoints_count")],
            heading=_("Reminders"),
        ),
    ]

    def problems(self, segment: Segment) -> str:
        """What is wrong with the rules: a deleted page or field, or an error while evaluating
        them (the next rebuild retries). Shown so that a stale segment does not look fresh."""
        return "; ".join(segment.rule_problems or ())

    problems.short_description = _("Rule problems")

    def reminders(self, segment: Segment) -> str:
        from .segment_views import reminder_status

        return reminder_status(segment)

    reminders.short_description = _("Reminders")

    def members(self, segment: Segment) -> str:
        from django.urls import reverse

        return format_html('<a href="{}">{}</a>', reverse("wagtail_segments_segment_members", args=[segment.pk]),
                           _("Members of %(segment)s") % {"segment": segment.name})

    members.short_description = _("Member list")


class ExtraButtonHelper(ButtonHelper):
    """modeladmin's row buttons plus the screens that are Wagtail views (``extra_buttons``:
    (url name, label, icon-less title, permissions any of which shows it))."""

    extra_buttons: tuple = ()

    def get_buttons_for_obj(self, obj, exclude=None, classnames_add=None, classnames_exclude=None):
        buttons = super().get_buttons_for_obj(obj, exclude, classnames_add, classnames_exclude)
        user = self.request.user
        extra = [
            {"url": reverse(url_name, args=[obj.pk]), "label": label, "classname": "button button-small",
             "title": title % {"name": obj}}
            for url_name, label, title, permissions in self.extra_buttons
            if any(user.has_perm(p) for p in permissions)
        ]
        return extra + buttons


class CampaignButtonHelper(ExtraButtonHelper):
    extra_buttons = (
        ("wagtail_segments_campaign_builder", _("Steps"), _("Steps of %(name)s"), CAMPAIGN_VIEW),
        ("wagtail_segments_campaign_runs", _("Runs"), _("Runs of %(name)s"), CAMPAIGN_VIEW),
    )


class CampaignIndexView(IndexView):
    def get_context_data(self, **kwargs):
        user = self.request.user
        return super().get_context_data(
            can_broadcast=user.has_perm(BROADCAST) and user.has_perm(ACTIVATE), **kwargs,
        )


class CampaignForm(WagtailAdminModelForm):
    # One tag, picked with the tag widget (which quotes a name with spaces): stored unquoted.
    entry_tag = OneTagField(label=capfirst(Campaign._meta.get_field("entry_tag").verbose_name), required=False,
                            max_length=100)
    send_days = forms.TypedMultipleChoiceField(
        label=_("Send on days"), choices=WEEKDAYS, coerce=int, required=False, widget=forms.CheckboxSelectMultiple,
        help_text=_("Marketing messages go out only on these days (none ticked: any day)."),
    )


class CampaignAdmin(ModelAdmin):
    """The listing's counts come from one aggregate query (runs grouped per campaign); the
    steps are edited in the builder, a Wagtail view (admin/campaigns.py)."""

    model = Campaign
    menu_label = _("Campaigns")
    menu_icon = "redirect"
    list_display = ("name", "status", "in_progress", "completed", "failed")
    list_filter = ("status",)
    search_fields = ("name", "description")
    button_helper_class = CampaignButtonHelper
    index_view_class = CampaignIndexView
    index_template_name = "wagtail_segments/admin/campaign_index.html"
    edit_handler = ObjectList([
        FieldPanel("name"), FieldPanel("description"),
        MultiFieldPanel([
            FieldPanel("entry_segment"), FieldPanel("entry_segment_members"),
            FieldPanel("entry_form", widget=AdminPageChooser(target_models=form_page_models() or None)),
            FieldRowPanel([FieldPanel("entry_page"), FieldPanel("entry_page_descendants")]),
            FieldPanel("entry_tag"),
        ], heading=_("Who enters")),
        FieldRowPanel([FieldPanel("reentry"), FieldPanel("reentry_days")], heading=_("Re-entry")),
        FieldRowPanel([FieldPanel("starts_at"), FieldPanel("ends_at")], heading=_("Takes contacts between")),
        MultiFieldPanel([FieldPanel("send_days"), FieldRowPanel([FieldPanel("send_from"), FieldPanel("send_until")])],
                        heading=_("Send window")),
    ], base_form_class=CampaignForm)

    def get_queryset(self, request):
        live = Q(runs__state__in=LIVE_STATES)
        return super().get_queryset(request).annotate(
            in_progress=Count("runs", filter=live),
            completed=Count("runs", filter=Q(runs__state=Run.State.COMPLETED)),
            failed=Count("runs", filter=Q(runs__state=Run.State.FAILED)),
        )

    def in_progress(self, campaign: Campaign) -> int:
        return campaign.in_progress

    in_progress.short_description = _("In progress")
    in_progress.admin_order_field = "in_progress"

    def completed(self, campaign: Campaign) -> int:
        return campaign.completed

    completed.short_description = _("Completed")
    completed.admin_order_field = "completed"

    def failed(self, campaign: Campaign) -> int:
        return campaign.failed

    failed.short_description = _("Failed")
    failed.admin_order_field = "failed"


class EmailButtonHelper(ExtraButtonHelper):
    extra_buttons = (("wagtail_segments_email_preview", _("Preview"), _("Preview %(name)s"),
                      ("wagtail_segments.view_emailmessage", "wagtail_segments.change_emailmessage")),)


class SmsButtonHelper(ExtraButtonHelper):
    extra_buttons = (("wagtail_segments_sms_preview", _("Preview"), _("Preview %(name)s"),
                      ("wagtail_segments.view_smsmessage", "wagtail_segments.change_smsmessage")),)


class EmailMessageAdmin(ModelAdmin):
    model = EmailMessage
    menu_label = _("Emails")
    menu_icon = "mail"
    list_display = ("name", "subject", "purpose", "updated_at")
    list_filter = ("purpose",)
    search_fields = ("name", "subject")
    button_helper_class = EmailButtonHelper
    panels = [
        FieldPanel("name"), FieldPanel("subject"), FieldPanel("preheader"), FieldPanel("body"),
        FieldPanel("purpose"), FieldRowPanel([FieldPanel("from_email"), FieldPanel("reply_to")]),
        MergeFieldsPanel(heading=_("Merge fields you can use")),
    ]


class SmsMessageAdmin(ModelAdmin):
    model = SmsMessage
    menu_label = _("SMS messages")
    menu_icon = "mobile-alt"
    list_display = ("name", "purpose", "body")
    list_filter = ("purpose",)
    search_fields = ("name", "body")
    button_helper_class = SmsButtonHelper
    panels = [FieldPanel("name"), FieldPanel("body"), FieldPanel("purpose"),
              MergeFieldsPanel(heading=_("Merge fields you can use"))]


class MarketingGroup(ModelAdminGroup):
    menu_label = _("Marketing")
    menu_icon = "group"
    menu_order = 250
    items = (ContactAdmin, SegmentAdmin, CampaignAdmin, EmailMessageAdmin, SmsMessageAdmin, CompanyAdmin,
             PropertyDefinitionAdmin)

    def get_submenu_items(self):
        """modeladmin's items, the form mappings (admin/form_mappings.py), then the reports
        (Wagtail report views, admin/reports.py): the marketers find them beside what they
        report on, not under Wagtail's page reports."""
        from .form_mappings import FormMappingMenuItem
        from .reports import report_menu_items

        items = super().get_submenu_items()
        items.append(FormMappingMenuItem(len(items) + 1))
        return items + report_menu_items(len(items) + 1)


modeladmin_register(MarketingGroup)
