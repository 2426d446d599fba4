"""The campaign screens that modeladmin cannot be: the builder (the step tree as an outline
and drawn beside it, with counts and problems), the step forms, activate / pause / resume,
the runs with their history and the unknown sends to resolve, and the broadcast form.

Every view checks its permission on the server and answers 403 without it; every change is
recorded in Wagtail's audit log on the campaign, with the user.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST
from wagtail.admin.widgets import AdminDateTimeInput

from wagtail_segments.campaigns import editing, lifecycle
from wagtail_segments.campaigns.executor import resolve_unknown_step
from wagtail_segments.campaigns.models import LIVE_STATES, Campaign, Run, Step, StepLog
from wagtail_segments.campaigns.steps import STEP_KINDS, branch_label, step_label
from wagtail_segments.messaging.models import EmailMessage
from wagtail_segments.segments.models import Segment

from . import audit
from .campaign_forms import action_choices, kind_choices, step_form
from .campaign_tree import build_tree, describe, places

VIEW = ("wagtail_segments.view_campaign", "wagtail_segments.change_campaign")
CHANGE = "wagtail_segments.change_campaign"
ACTIVATE = "wagtail_segments.activate_campaign"
BROADCAST = "wagtail_segments.send_broadcast"
RUNS_PER_PAGE = 50


def denied(request: HttpRequest, permission: str, back_url: str = "") -> HttpResponse:
    from django.contrib.auth.models import Permission

    codename = permission.split(".", 1)[-1]
    found = Permission.objects.filter(codename=codename, content_type__app_label="wagtail_segments").first()
    message = _("This needs the permission “%(permission)s”; ask an administrator.") % {
        "permission": found.name if found else codename}
    return TemplateResponse(request, "wagtail_segments/admin/denied.html",
                            {"message": message, "back_url": back_url or reverse("wagtailadmin_home")}, status=403)


def can_view(user) -> bool:
    return any(user.has_perm(p) for p in VIEW)


def builder_url(campaign: Campaign | int) -> str:
    return reverse("wagtail_segments_campaign_builder", args=[getattr(campaign, "pk", campaign)])


def unknown_sends(campaign: Campaign) -> QuerySet[StepLog]:
    """The campaign's steps whose outcome a person must settle. The builder counts them on
    every load: the partial index ``wsg_steplog_unknown`` holds only these rows."""
    return StepLog.objects.filter(run__campaign=campaign, state=StepLog.State.UNKNOWN)


def builder(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    if not can_view(request.user):
        return denied(request, CHANGE)
    return render_builder(request, campaign)


def render_builder(request: HttpRequest, campaign: Campaign, activation_problems=None, status: int = 200):
    tree = build_tree(campaign)
    user = request.user
    return TemplateResponse(request, "wagtail_segments/admin/campaign_builder.html", {
        "campaign": campaign, "tree": tree, "activation_problems": activation_problems or [],
        "can_change": user.has_perm(CHANGE), "can_activate": user.has_perm(ACTIVATE),
        "unknown_count": unknown_sends(campaign).count(),
        "runs_url": reverse("wagtail_segments_campaign_runs", args=[campaign.pk]),
        "edit_url": reverse("wagtail_segments_campaign_modeladmin_edit", args=[campaign.pk]),
        "index_url": reverse("wagtail_segments_campaign_modeladmin_index"),
    }, status=status)


class KindForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Kind of step"), widget=forms.RadioSelect)
    action = forms.ChoiceField(label=gettext_lazy("What the action does"), required=False,
                               help_text=gettext_lazy("For an action step."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = kind_choices()
        self.fields["action"].choices = [("", "---------")] + action_choices()

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("kind") == "action" and not cleaned.get("action"):
            self.add_error("action", _("Choose what the action does."))
        return cleaned


def _place(campaign: Campaign, parent_value: str | None, branch: str | None) -> tuple[Step | None, str]:
    if not parent_value or parent_value == "start":
        return None, Step.Branch.NEXT
    parent = get_object_or_404(Step, pk=parent_value, campaign=campaign)
    return parent, branch or Step.Branch.NEXT


def _place_words(parent: Step | None, branch: str) -> str:
    if parent is None:
        return _("at the start")
    if branch == Step.Branch.NEXT:
        return _("after “%(step)s”") % {"step": step_label(parent)}
    return _("after “%(step)s”, on %(branch)s") % {"step": step_label(parent), "branch": branch_label(branch)}


def default_name(step: Step) -> str:
    """The name of a step the editor left unnamed: what it does, as its card says ("Send an
    email: Welcome"), so that the tree, the funnel and messages read as words, not as the
    step's kind and key."""
    return describe(step)[:Step._meta.get_field("name").max_length]


def add_step(request: HttpRequest, pk: int) -> HttpResponse:
    """Choose a kind (and an action), then fill in its settings; the new step goes at the
    place the outline's button named, and what stood there follows it."""
    campaign = get_object_or_404(Campaign, pk=pk)
    if not request.user.has_perm(CHANGE):
        return denied(request, CHANGE, builder_url(campaign))
    params = request.POST if request.method == "POST" else request.GET
    parent, branch = _place(campaign, params.get("parent"), params.get("branch"))
    kind_form = KindForm(params if params.get("kind") else None)
    context = {"campaign": campaign, "where": _place_words(parent, branch), "back_url": builder_url(campaign),
               "parent": params.get("parent") or "start", "branch": branch}
    if not kind_form.is_bound or not kind_form.is_valid():
        return TemplateResponse(request, "wagtail_segments/admin/campaign_step_kind.html",
                                {**context, "kind_form": kind_form})
    kind, action = kind_form.cleaned_data["kind"], kind_form.cleaned_data.get("action") or None
    form = step_form(kind, request.POST if request.method == "POST" and "save" in request.POST else None,
                     action=action, config={"action": action} if action else {})
    if form.is_bound and form.is_valid():
        step = Step(campaign=campaign, kind=kind, name=form.cleaned_data.get("name") or "", config=form.config())
        step.name = step.name or default_name(step)
        editing.insert_step(step, parent, branch)
        audit.record(campaign, audit.STEP_ADDED, user=request.user, step=str(step.key), label=step_label(step),
                     kind=kind, config=step.config)
        messages.success(request, _("Step “%(step)s” added.") % {"step": step_label(step)})
        return redirect(builder_url(campaign))
    return TemplateResponse(request, "wagtail_segments/admin/campaign_step_form.html", {
        **context, "form": form, "kind": kind, "action": action,
        "kind_label": STEP_KINDS[kind].label, "title": _("Add a step"),
    })


def edit_step(request: HttpRequest, pk: int) -> HttpResponse:
    step = get_object_or_404(Step.objects.select_related("campaign"), pk=pk)
    campaign = step.campaign
    if not request.user.has_perm(CHANGE):
        return denied(request, CHANGE, builder_url(campaign))
    form = step_form(step.kind, request.POST if request.method == "POST" else None, config=step.config,
                     name=step.name)
    if form is None:
        messages.error(request, _("Steps of this kind are changed from Python."))
        return redirect(builder_url(campaign))
    if form.is_bound and form.is_valid():
        before = dict(step.config or {})
        step.name, step.config = form.cleaned_data.get("name") or "", form.config()
        step.name = step.name or default_name(step)
        step.save(update_fields=["name", "config"])
        audit.record(campaign, audit.STEP_CHANGED, user=request.user, step=str(step.key), label=step_label(step),
                     config=step.config, previous_config=before)
        messages.success(request, _("Step “%(step)s” saved.") % {"step": step_label(step)})
        return redirect(builder_url(campaign))
    return TemplateResponse(request, "wagtail_segments/admin/campaign_step_form.html", {
        "campaign": campaign, "form": form, "step": step, "back_url": builder_url(campaign),
        "kind_label": STEP_KINDS[step.kind].label, "title": _("Edit “%(step)s”") % {"step": step_label(step)},
    })


class DeleteStepForm(forms.Form):
    runs_go_to = forms.ChoiceField(label=gettext_lazy("Where do the contacts waiting on it go?"),
                                   widget=forms.RadioSelect, required=False)
    keep_branch = forms.ChoiceField(label=gettext_lazy("Which branch takes its place?"), widget=forms.RadioSelect,
                                    required=False, help_text=gettext_lazy("The steps of the other branches are "
                                                                           "deleted with it."))

    def __init__(self, *args, step: Step, waiting: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.step, self.waiting = step, waiting
        others = [(str(s.pk), _("To “%(step)s”") % {"step": step_label(s)})
                  for s in step.campaign.steps.exclude(pk=step.pk).exclude(kind__in=("goal", "removed"))]
        self.fields["runs_go_to"].choices = [
            ("next", _("On to the step that takes its place (or finish the campaign)")),
            ("leave", _("Out of the campaign")), *others,
        ]
        branches = [child.branch for child in step.children.all()]
        if len(branches) > 1:
            self.fields["keep_branch"].choices = [(b, branch_label(b)) for b in branches]
            self.fields["keep_branch"].required = True
        else:
            del self.fields["keep_branch"]
        if waiting:
            self.fields["runs_go_to"].required = True
        else:
            del self.fields["runs_go_to"]

    def target(self):
        value = self.cleaned_data.get("runs_go_to")
        if value in (None, ""):
            return None
        if value in (editing.NEXT, editing.LEAVE):
            return value
        return Step.objects.get(pk=value, campaign_id=self.step.campaign_id)


def delete_step(request: HttpRequest, pk: int) -> HttpResponse:
    step = get_object_or_404(Step.objects.select_related("campaign"), pk=pk)
    campaign = step.campaign
    if not request.user.has_perm(CHANGE):
        return denied(request, CHANGE, builder_url(campaign))
    waiting = Run.objects.live().filter(step=step).count()
    form = DeleteStepForm(request.POST if request.method == "POST" else None, step=step, waiting=waiting)
    if form.is_bound and form.is_valid():
        label = step_label(step)
        try:
            moved = editing.delete_step(step, form.target(), keep_branch=form.cleaned_data.get("keep_branch") or None)
        except ValidationError as error:
            for message in error.messages:
                form.add_error(None, message)
        else:
            audit.record(campaign, audit.STEP_DELETED, user=request.user, step=str(step.key), label=label,
                         runs_moved=moved, runs_go_to=form.cleaned_data.get("runs_go_to") or "")
            messages.success(request, _("Step “%(step)s” deleted.") % {"step": label})
            return redirect(builder_url(campaign))
    return TemplateResponse(request, "wagtail_segments/admin/campaign_step_delete.html", {
        "campaign": campaign, "step": step, "label": step_label(step), "form": form, "waiting": waiting,
        "back_url": builder_url(campaign),
    })


def move_step(request: HttpRequest, pk: int) -> HttpResponse:
    step = get_object_or_404(Step.objects.select_related("campaign"), pk=pk)
    campaign = step.campaign
    if not request.user.has_perm(CHANGE):
        return denied(request, CHANGE, builder_url(campaign))
    choices = places(campaign, step)
    form = forms.Form(request.POST if request.method == "POST" else None)
    form.fields["place"] = forms.ChoiceField(label=_("Move it to"), choices=choices, widget=forms.RadioSelect)
    if form.is_bound and form.is_valid():
        parent_value, branch = form.cleaned_data["place"].split(":", 1)
        parent, branch = _place(campaign, parent_value, branch)
        try:
            editing.move_step(step, parent, branch)
        except ValidationError as error:
            for message in error.messages:
                form.add_error(None, message)
        else:
            audit.record(campaign, audit.STEP_MOVED, user=request.user, step=str(step.key), label=step_label(step),
                         to=_place_words(parent, branch))
            messages.success(request, _("Step “%(step)s” moved.") % {"step": step_label(step)})
            return redirect(builder_url(campaign))
    return TemplateResponse(request, "wagtail_segments/admin/campaign_step_move.html", {
        "campaign": campaign, "step": step, "label": step_label(step), "form": form,
        "back_url": builder_url(campaign),
    })


@require_POST
def change_status(request: HttpRequest, pk: int, to: str) -> HttpResponse:
    """Activate, pause or resume: the lifecycle's refusals are shown, each on its step."""
    campaign = get_object_or_404(Campaign, pk=pk)
    if not request.user.has_perm(ACTIVATE):
        return denied(request, ACTIVATE, builder_url(campaign))
    try:
        if to == "activate":
            entered = lifecycle.activate(campaign, user=request.user)
            audit.record(campaign, audit.CAMPAIGN_ACTIVATED, user=request.user, entered=entered)
            messages.success(request, ngettext("Campaign activated: %(count)s contact entered now.",
                                               "Campaign activated: %(count)s contacts entered now.", entered)
                             % {"count": entered})
        elif to == "pause":
            lifecycle.pause(campaign)
            audit.record(campaign, audit.CAMPAIGN_PAUSED, user=request.user)
            messages.success(request, _("Campaign paused: its contacts wait where they are."))
        elif to == "resume":
            catch_up = request.POST.get("catch_up") == "now"
            moved = lifecycle.resume(campaign, catch_up=catch_up)
            audit.record(campaign, audit.CAMPAIGN_RESUMED, user=request.user, catch_up=catch_up, runs_moved=moved)
            messages.success(request, _("Campaign resumed."))
        else:
            return denied(request, ACTIVATE, builder_url(campaign))
    except ValidationError as error:
        campaign.refresh_from_db()
        return render_builder(request, campaign, activation_problems=error.messages, status=400)
    return redirect(builder_url(campaign))


def campaign_runs(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    if not can_view(request.user):
        return denied(request, CHANGE)
    runs = campaign.runs.select_related("contact", "step").order_by("-entered_at", "-pk")
    state = request.GET.get("state") or ""
    if state in Run.State.values:
        runs = runs.filter(state=state)
    page = Paginator(runs, RUNS_PER_PAGE).get_page(request.GET.get("p"))
    unknown = unknown_sends(campaign).select_related("run__contact", "step").order_by("started_at")
    return TemplateResponse(request, "wagtail_segments/admin/campaign_runs.html", {
        "campaign": campaign, "page": page, "state": state, "states": Run.State.choices, "unknown": unknown,
        "can_change": request.user.has_perm(CHANGE), "back_url": builder_url(campaign),
    })


def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(Run.objects.select_related("campaign", "contact", "step"), pk=pk)
    if not can_view(request.user):
        return denied(request, CHANGE)
    logs = run.logs.select_related("step").order_by("started_at", "pk")
    return TemplateResponse(request, "wagtail_segments/admin/campaign_run.html", {
        "run": run, "campaign": run.campaign, "logs": logs, "step_label": step_label(run.step) if run.step else "",
        "can_change": request.user.has_perm(CHANGE),
        "back_url": reverse("wagtail_segments_campaign_runs", args=[run.campaign_id]),
        "contact_url": reverse("wagtail_segments_contact_modeladmin_inspect", args=[run.contact_id]),
    })


@require_POST
def resolve_unknown(request: HttpRequest, pk: int) -> HttpResponse:
    """A person's answer for a send whose outcome is unknown: it was sent (the run goes on)
    or it was not (the step is done again)."""
    log = get_object_or_404(StepLog.objects.select_related("run__campaign", "step"), pk=pk)
    campaign = log.run.campaign
    if not request.user.has_perm(CHANGE):
        return denied(request, CHANGE, builder_url(campaign))
    acted = request.POST.get("acted") == "yes"
    if resolve_unknown_step(log, acted=acted):
        audit.record(campaign, audit.UNKNOWN_RESOLVED, user=request.user, run=log.run_id, step=str(log.step.key),
                     acted=acted)
        messages.success(request, _("It was sent: the contact goes on.") if acted
                         else _("It was not sent: the step will be done again."))
    else:
        messages.warning(request, _("Someone resolved this step already."))
    return redirect(request.POST.get("next") or reverse("wagtail_segments_campaign_runs", args=[campaign.pk]))


class BroadcastForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=255)
    message = forms.ModelChoiceField(EmailMessage.objects.all(), label=gettext_lazy("Email"))
    segment = forms.ModelChoiceField(Segment.objects.filter(active=True), label=gettext_lazy("To the members of"))
    when = forms.ChoiceField(label=gettext_lazy("Send"), widget=forms.RadioSelect, initial="now", choices=[
        ("now", gettext_lazy("now")), ("at", gettext_lazy("at a set time")),
    ])
    at = forms.DateTimeField(label=gettext_lazy("At"), required=False, widget=AdminDateTimeInput)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("when") == "at":
            if not cleaned.get("at"):
                self.add_error("at", _("Say when to send it."))
            elif cleaned["at"] <= timezone.now():
                self.add_error("at", _("Choose a time in the future."))
        return cleaned


def broadcast(request: HttpRequest) -> HttpResponse:
    """A broadcast is a campaign with its segment as the source and one email step (after a
    wait until the set time when it is scheduled): the engine sends it like any other."""
    if not (request.user.has_perm(BROADCAST) and request.user.has_perm(ACTIVATE)):
        return denied(request, BROADCAST)
    form = BroadcastForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        with transaction.atomic():
            campaign = Campaign.objects.create(
                name=data["name"], entry_segment=data["segment"], entry_segment_members=True,
                reentry=Campaign.Reentry.ONCE, owner=request.user,
                description=_("Broadcast of “%(email)s” to “%(segment)s”.") % {
                    "email": data["message"], "segment": data["segment"]},
            )
            parent = None
            if data["when"] == "at":
                parent = Step.objects.create(campaign=campaign, kind="wait", name=_("Until the send time"),
                                             config={"until": data["at"].isoformat()})
            Step.objects.create(campaign=campaign, kind="action", parent=parent, name=str(data["message"]),
                                config={"action": "send_email", "message": data["message"].pk})
            try:
                entered = lifecycle.activate(campaign, user=request.user)
            except ValidationError as error:
                transaction.set_rollback(True)
                for message in error.messages:
                    form.add_error(None, message)
                entered = None
        if entered is not None:
            audit.record(campaign, audit.BROADCAST_SENT, user=request.user, message=data["message"].pk,
                         segment=data["segment"].pk, at=data["at"].isoformat() if data.get("at") else "now",
                         entered=entered)
            messages.success(request, ngettext("Broadcast started: %(count)s contact will get “%(email)s”.",
                                               "Broadcast started: %(count)s contacts will get “%(email)s”.", entered)
                             % {"count": entered, "email": data["message"]})
            return redirect(builder_url(campaign))
    return TemplateResponse(request, "wagtail_segments/admin/broadcast.html", {
        "form": form, "back_url": reverse("wagtail_segments_campaign_modeladmin_index"),
    })
