"""The marketing reports: segment sizes over time, a campaign's funnel, email results.

Each is a Wagtail ``ReportView``, so it looks like Wagtail's own reports (filters beside the
table, the table component) and downloads as CSV or XLSX from the header's menu. The numbers
come from aggregate queries: one per source table for the rows shown, never one per row.
Each report checks its permission on the server and answers 403 with the page naming it.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

import django_filters
from django.db.models import BigIntegerField, Count, Exists, OuterRef, Q
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from wagtail.admin.filters import DateRangePickerWidget, WagtailFilterSet
from wagtail.admin.menu import MenuItem
from wagtail.admin.ui.tables import Column
from wagtail.admin.views.reports import ReportView

from wagtail_segments.campaigns.models import LIVE_STATES, Campaign, Run, Step, StepLog
from wagtail_segments.campaigns.steps import STEP_KINDS, RemovedStep, branch_label, step_label
from wagtail_segments.contacts.models import Event, EventKind
from wagtail_segments.messaging.models import Delivery, EmailMessage
from wagtail_segments.segments.exporting import guard_cell
from wagtail_segments.segments.history import daily_counts
from wagtail_segments.segments.models import Segment

from .bulk import denied, permission_name
from .campaigns import VIEW as CAMPAIGN_VIEW
from .charts import by_day, chart
from .segment_views import VIEW as SEGMENT_VIEW

EMAIL_VIEW = ("wagtail_segments.view_emailmessage", "wagtail_segments.change_emailmessage")
PERIODS = ((30, gettext_lazy("30 days")), (90, gettext_lazy("90 days")), (365, gettext_lazy("A year")))
DEFAULT_DAYS = 90


class MarketingReport(ReportView):
    """A report of the Marketing menu: its permissions checked on the server (any of
    ``permissions``), cells guarded against spreadsheet formulas in the CSV download."""

    permissions: tuple[str, ...] = ()
    paginate_by = None
    header_icon = "table"

    def dispatch(self, request, *args, **kwargs):
        if not any(request.user.has_perm(permission) for permission in self.permissions):
            return denied(request, _("This needs the permission “%(permission)s”.")
                          % {"permission": permission_name(self.permissions[0])})
        return super().dispatch(request, *args, **kwargs)

    def get_heading(self, queryset, field):
        """The column's own label (the rows are not always model instances)."""
        labels = {column.name: column.label for column in self.columns}
        return str(self.export_headings.get(field) or labels.get(field) or field)

    def preprocess_field_value(self, field, value, export_format):
        value = super().preprocess_field_value(field, value, export_format)
        return guard_cell(value) if isinstance(value, str) else value

    def filter_queryset(self, queryset):
        # A report's filters choose what it is about (a segment, a campaign); the rows are
        # computed for that choice, not narrowed from a queryset.
        return queryset


def _choice(filters, name: str, default=None):
    """The cleaned value of filter ``name``, or ``default`` when it is empty or invalid."""
    if filters is None or not filters.is_valid():
        return default
    return filters.form.cleaned_data.get(name) or default


# ---------------------------------------------------------------------------- segment sizes


@dataclass
class SizeRow:
    day: datetime.date
    members: int
    change: int | None


class SegmentSizesFilterSet(WagtailFilterSet):
    segment = django_filters.ModelChoiceFilter(
        label=gettext_lazy("Segment"), queryset=Segment.objects.order_by("name"),
        empty_label=gettext_lazy("The largest segment"),
    )
    days = django_filters.ChoiceFilter(
        label=gettext_lazy("Period"), choices=[(str(n), label) for n, label in PERIODS if n != DEFAULT_DAYS],
        empty_label=gettext_lazy("90 days"),
    )

    class Meta:
        model = Segment
        fields: list[str] = []


class SegmentSizesReport(MarketingReport):
    """A segment's size each day (SegmentDailyCount, gaps filled by segments.history): a line
    chart over the table of the same numbers, newest first."""

    page_title = gettext_lazy("Segment sizes over time")
    permissions = SEGMENT_VIEW
    filterset_class = SegmentSizesFilterSet
    index_url_name = "wagtail_segments_report_segment_sizes"
    index_results_url_name = "wagtail_segments_report_segment_sizes_results"
    results_template_name = "wagtail_segments/admin/report_segment_sizes.html"
    columns = [
        Column("day", label=gettext_lazy("Day")),
        Column("members", label=gettext_lazy("Members")),
        Column("change", label=gettext_lazy("Change from the day before")),
    ]
    list_export = ["day", "members", "change"]

    @cached_property
    def segment(self) -> Segment | None:
        return _choice(self.filters, "segment") or Segment.objects.order_by("-member_count", "name").first()

    @cached_property
    def days(self) -> int:
        return int(_choice(self.filters, "days", DEFAULT_DAYS))

    @cached_property
    def series(self) -> list[tuple[datetime.date, int]]:
        return daily_counts(self.segment, days=self.days) if self.segment else []

    def get_filename(self) -> str:
        name = self.segment.slug if self.segment else "segment"
        return f"segment-sizes-{name}-{timezone.localdate():%Y-%m-%d}"

    def get_page_subtitle(self):
        return self.segment.name if self.segment else ""

    def get_queryset(self):
        rows, previous = [], None
        for day, members in self.series:
            rows.append(SizeRow(day, members, None if previous is None else members - previous))
            previous = members
        return rows[::-1]

    def get_context_data(self, *args, **kwargs):
        context = super().get_context_data(*args, **kwargs)
        if self.segment is not None:
            context["chart"] = chart(
                _("Members of “%(segment)s”, last %(days)s days") % {"segment": self.segment.name, "days": self.days},
                by_day(self.series),
                value_label=_("Members"), label_heading=_("Day"),
            )
        return context

    @cached_property
    def no_results_message(self):
        if self.segment is None:
            return _("There are no segments yet.")
        return _("No sizes recorded yet: the daily count runs once a day.")


# ---------------------------------------------------------------------------- campaign funnel


@dataclass
class FunnelRow:
    step: Step
    label: str
    kind: str
    path: str  # the branches taken to get here, "Yes → A"; empty on the main line
    depth: int
    reached: int = 0
    done: int = 0
    now: int = 0
    share: str = ""  # reached, as a percentage of the runs that entered


def tree_order(steps: list[Step]) -> list[tuple[Step, int, str]]:
    """The steps as the builder reads them: from each top step down, each branch in turn
    (depth first), with their depth and the branches taken. Steps on no path come last."""
    children: dict[int | None, list[Step]] = {}
    for step in steps:
        children.setdefault(step.parent_id, []).append(step)
    ordered: list[tuple[Step, int, str]] = []
    seen: set[int] = set()

    def walk(step: Step, depth: int, path: str) -> None:
        if step.pk in seen:
            return
        seen.add(step.pk)
        ordered.append((step, depth, path))
        for child in children.get(step.pk, []):
            if child.branch == Step.Branch.NEXT:
                walk(child, depth, path)
            else:
                label = branch_label(child.branch)
                walk(child, depth + 1, f"{path} → {label}" if path else label)

    for root in children.get(None, []):
        walk(root, 0, "")
    for step in steps:
        walk(step, 0, "")
    return ordered


def funnel(campaign: Campaign) -> list[FunnelRow]:
    """Per step of ``campaign``: runs that reached it (a step log, or standing at it without
    one yet, as a run waiting there does), runs that did it, live runs at it now. Two
    aggregate queries: the step logs grouped by step, the runs grouped by step."""
    steps = list(campaign.steps.exclude(kind=RemovedStep.name).order_by("pk"))
    logs = {
        row["step_id"]: row for row in
        StepLog.objects.filter(step__campaign=campaign).order_by().values("step_id")
        .annotate(reached=Count("id"), done=Count("id", filter=Q(state=StepLog.State.DONE)))
    }
    no_log = ~Exists(StepLog.objects.filter(run=OuterRef("pk"), step=OuterRef("step")))
    runs = {
        row["step_id"]: row for row in
        Run.objects.filter(campaign=campaign).order_by().values("step_id").annotate(
            entered=Count("id"), now=Count("id", filter=Q(state__in=LIVE_STATES)),
            unlogged=Count("id", filter=Q(state__in=LIVE_STATES) & Q(no_log)),
        )
    }
    entered = sum(row["entered"] for row in runs.values())
    rows = []
    for step, depth, path in tree_order(steps):
        kind = STEP_KINDS.get(step.kind)
        log, run = logs.get(step.pk, {}), runs.get(step.pk, {})
        row = FunnelRow(step=step, label=step_label(step), kind=str(kind.label if kind else step.kind), path=path,
                        depth=depth, reached=log.get("reached", 0) + run.get("unlogged", 0),
                        done=log.get("done", 0), now=run.get("now", 0))
        row.share = f"{round(100 * row.reached / entered)}%" if entered else ""
        rows.append(row)
    return rows


def campaign_filter(empty_label: str) -> django_filters.ModelChoiceFilter:
    return django_filters.ModelChoiceFilter(
        label=gettext_lazy("Campaign"), queryset=Campaign.objects.order_by("name"), empty_label=empty_label,
    )


class CampaignFilterSet(WagtailFilterSet):
    campaign = campaign_filter(gettext_lazy("The newest campaign"))

    class Meta:
        model = Campaign
        fields: list[str] = []


class StepColumn(Column):
    cell_template_name = "wagtail_segments/admin/report_step_cell.html"


class CampaignFunnelReport(MarketingReport):
    page_title = gettext_lazy("Campaign funnel")
    permissions = CAMPAIGN_VIEW
    filterset_class = CampaignFilterSet
    index_url_name = "wagtail_segments_report_campaign_funnel"
    index_results_url_name = "wagtail_segments_report_campaign_funnel_results"
    columns = [
        StepColumn("label", label=gettext_lazy("Step")),
        Column("kind", label=gettext_lazy("Kind")),
        Column("reached", label=gettext_lazy("Reached it")),
        Column("share", label=gettext_lazy("Of those who entered")),
        Column("done", label=gettext_lazy("Done")),
        Column("now", label=gettext_lazy("There now")),
    ]
    list_export = ["label", "path", "kind", "reached", "share", "done", "now"]
    export_headings = {"path": gettext_lazy("Branch")}

    @cached_property
    def campaign(self) -> Campaign | None:
        return _choice(self.filters, "campaign") or Campaign.objects.order_by("-pk").first()

    def get_page_subtitle(self):
        return self.campaign.name if self.campaign else ""

    def get_filename(self) -> str:
        return f"campaign-funnel-{self.campaign.pk if self.campaign else 0}-{timezone.localdate():%Y-%m-%d}"

    def get_queryset(self):
        return funnel(self.campaign) if self.campaign else []

    @cached_property
    def no_results_message(self):
        if self.campaign is None:
            return _("There are no campaigns yet.")
        return _("This campaign has no steps yet.")


# ---------------------------------------------------------------------------- email results

RESULT_FIELDS = ("sent", "delivered", "opened", "clicked", "bounced", "unsubscribed")
RATE_FIELDS = ("open_rate", "click_rate")
EVENT_FIELDS = {EventKind.EMAIL_DELIVERED.value: "delivered", EventKind.EMAIL_BOUNCED.value: "bounced",
                EventKind.EMAIL_UNSUBSCRIBED.value: "unsubscribed"}


def chosen_deliveries(sent: slice | None = None, campaign: Campaign | None = None) -> Q:
    """The deliveries a report is about: sent between ``sent.start`` and ``sent.stop`` (either
    end may be open), by ``campaign``. An empty ``Q`` when neither is given."""
    chosen = Q()
    if sent is not None and sent.start is not None:
        chosen &= Q(sent_at__gte=sent.start)
    if sent is not None and sent.stop is not None:
        chosen &= Q(sent_at__lte=sent.stop)
    if campaign is not None:
        chosen &= Q(campaign_id=campaign.pk)
    return chosen


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else ""


def email_results(messages: list[EmailMessage], deliveries: Q | None = None) -> list[EmailMessage]:
    """Set ``sent``, ``delivered``, ``opened``, ``clicked``, ``bounced``, ``unsubscribed``,
    ``open_rate`` and ``click_rate`` on each message, counting only the ``deliveries`` chosen
    (see ``chosen_deliveries``; all of them by default).

    Sent counts deliveries that left (test sends left out); opened and clicked count people (a
    machine open never sets ``opened_at``), and the rates are those people out of the people
    it was sent to, so a contact mailed twice is not a reader lost. Delivered, bounced and
    unsubscribed count the deliveries the provider's or the unsubscribe page's events name.
    Two aggregate queries, however many messages."""
    by_id = {message.pk: message for message in messages}
    for message in messages:
        for name in RESULT_FIELDS:
            setattr(message, name, 0)
        message.open_rate = message.click_rate = ""
    if not by_id:
        return messages
    chosen = deliveries if deliveries is not None else Q()
    real, sent = Q(test=False), Q(test=False, status=Delivery.Status.SENT)
    for row in (Delivery.objects.filter(chosen, email_message_id__in=by_id).order_by().values("email_message_id")
                .annotate(sent=Count("id", filter=sent), recipients=Count("contact_id", filter=sent, distinct=True),
                          opened=Count("contact_id", filter=real & Q(opened_at__isnull=False), distinct=True),
                          clicked=Count("contact_id", filter=real & Q(clicked_at__isnull=False), distinct=True))):
        message = by_id[row["email_message_id"]]
        message.sent, message.opened, message.clicked = row["sent"], row["opened"], row["clicked"]
        message.open_rate = percent(row["opened"], row["recipients"])
        message.click_rate = percent(row["clicked"], row["recipients"])
    events = Event.objects.filter(kind__in=EVENT_FIELDS, data__message__in=list(by_id))
    if chosen:
        # The events name their delivery in ``data``: keep those of the chosen deliveries
        # (a primary-key probe per event of these messages, in the same query).
        events = events.annotate(delivery_pk=Cast(KeyTextTransform("delivery", "data"), BigIntegerField())).filter(
            Exists(Delivery.objects.filter(chosen, pk=OuterRef("delivery_pk"))))
    for row in events.order_by().values("kind", "data__message").annotate(n=Count("data__delivery", distinct=True)):
        message = by_id.get(_as_int(row["data__message"]))
        if message is not None:
            setattr(message, EVENT_FIELDS[row["kind"]], row["n"])
    return messages


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class EmailResultsFilterSet(WagtailFilterSet):
    """Which deliveries the numbers count: those sent between two days, those of one
    campaign. An email none of them belongs to is left out of the report."""

    sent = django_filters.DateFromToRangeFilter(label=gettext_lazy("Sent between"), widget=DateRangePickerWidget)
    campaign = campaign_filter(gettext_lazy("Any campaign"))

    class Meta:
        model = EmailMessage
        fields: list[str] = []

    def deliveries(self) -> Q:
        if not self.is_valid():
            return Q()
        return chosen_deliveries(self.form.cleaned_data.get("sent"), self.form.cleaned_data.get("campaign"))

    def filter_queryset(self, queryset):
        chosen = self.deliveries()
        if not chosen:
            return queryset
        return queryset.filter(Exists(Delivery.objects.filter(chosen, email_message=OuterRef("pk"), test=False)))


class EmailResultsReport(MarketingReport):
    page_title = gettext_lazy("Email results")
    permissions = EMAIL_VIEW
    paginate_by = 50
    is_searchable = True
    search_fields = ["name", "subject"]
    search_backend_name = None
    filterset_class = EmailResultsFilterSet
    index_url_name = "wagtail_segments_report_email_results"
    index_results_url_name = "wagtail_segments_report_email_results_results"
    columns = [
        Column("name", label=gettext_lazy("Email")),
        Column("subject", label=gettext_lazy("Subject")),
        *(Column(name, label=label) for name, label in (
            ("sent", gettext_lazy("Sent")), ("delivered", gettext_lazy("Delivered")),
            ("opened", gettext_lazy("Opened (people)")), ("clicked", gettext_lazy("Clicked (people)")),
            ("open_rate", gettext_lazy("Open rate")), ("click_rate", gettext_lazy("Click rate")),
            ("bounced", gettext_lazy("Bounced")), ("unsubscribed", gettext_lazy("Unsubscribed")))),
    ]
    list_export = ["name", "subject", "sent", "delivered", "opened", "clicked", *RATE_FIELDS, "bounced",
                   "unsubscribed"]
    verbose_name_plural = gettext_lazy("emails")

    def get_filename(self) -> str:
        return f"email-results-{timezone.localdate():%Y-%m-%d}"

    def get_base_queryset(self):
        return EmailMessage.objects.order_by("-updated_at", "-pk")

    def filter_queryset(self, queryset):
        if self.filters and self.filters.is_valid():
            return self.filters.filter_queryset(queryset)
        return queryset

    def get_filtered_queryset(self):
        # Wagtail's ReportView filters get_queryset()'s result, which the listing view has
        # already filtered: once is enough.
        return self.get_queryset()

    def decorate_paginated_queryset(self, object_list):
        return email_results(list(object_list), self.filters.deliveries() if self.filters else None)


# ---------------------------------------------------------------------------- menu

REPORTS = (
    (SegmentSizesReport, "segment-sizes", "wagtail_segments_report_segment_sizes"),
    (CampaignFunnelReport, "campaign-funnel", "wagtail_segments_report_campaign_funnel"),
    (EmailResultsReport, "email-results", "wagtail_segments_report_email_results"),
)


class ReportMenuItem(MenuItem):
    """A report's place in the Marketing menu, shown to who may open it."""

    def __init__(self, report: type[MarketingReport], url_name: str, order: int):
        super().__init__(report.page_title, reverse(url_name), icon_name="table", order=order)
        self.report = report

    def is_shown(self, request) -> bool:
        return any(request.user.has_perm(permission) for permission in self.report.permissions)


def report_menu_items(first_order: int) -> list[MenuItem]:
    return [ReportMenuItem(report, url_name, first_order + n) for n, (report, _slug, url_name) in enumerate(REPORTS)]


def report_urls() -> list:
    from django.urls import path

    urls = []
    for report, slug, url_name in REPORTS:
        urls += [path(f"reports/{slug}/", report.as_view(), name=url_name),
                 path(f"reports/{slug}/results/", report.as_view(results_only=True), name=f"{url_name}_results")]
    return urls


__all__ = ["SegmentSizesReport", "CampaignFunnelReport", "EmailResultsReport", "funnel", "email_results",
           "chosen_deliveries", "report_menu_items", "report_urls"]
