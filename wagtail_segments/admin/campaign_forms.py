"""The builder's step forms: each kind's settings as fields with choosers (emails, texts,
segments, pages, forms, tags, groups), never ids or JSON, turned into the ``config`` the
engine reads and checked by the step kind's own ``problems`` before anything is saved.

"Set a contact field or property" offers one value input per type (text, number, date with
Wagtail's picker, yes/no, a country by name for the country field) and shows the one that the chosen field's or property's type
takes (shown_when.js); the value is typed by the action's own ``set_field_value``, so the
step stores what the engine will write."""

from __future__ import annotations

import datetime

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _
from wagtail.admin.widgets import AdminDateInput, AdminDateTimeInput, AdminPageChooser, AdminTimeInput

from wagtail_segments.campaigns.actions import ACTIONS, SETTABLE_FIELDS, set_field_value, settable_field_type
from wagtail_segments.campaigns.models import Campaign, Step
from wagtail_segments.campaigns.steps import STEP_KINDS, step_problems
from wagtail_segments.conf import settings as conf
from wagtail_segments.contacts.countries import country_choices_keeping, country_codes
from wagtail_segments.contacts.models import PropertyDefinition, contact_field_label
from wagtail_segments.contacts.properties import PropertyValueError, parse_boolean
from wagtail_segments.messaging.models import EmailMessage, SmsMessage
from wagtail_segments.segments.choosers import form_page_models
from wagtail_segments.segments.fields import RulesField
from wagtail_segments.segments.models import Segment

from .contact_form import shown_text
from .widgets import OneTagField, TagNamesField

WEEKDAYS = [(0, _("Monday")), (1, _("Tuesday")), (2, _("Wednesday")), (3, _("Thursday")),
            (4, _("Friday")), (5, _("Saturday")), (6, _("Sunday"))]
UNITS = [("minutes", _("minutes")), ("hours", _("hours")), ("days", _("days")), ("weeks", _("weeks"))]
SPLIT_LABELS = ("a", "b", "c", "d")
# Which of ActionStepForm's fields each built-in action uses (a site's own action has none).
ACTION_FIELDS = {
    "add_tags": ("tags",), "remove_tags": ("tags",),
    "add_to_segment": ("static_segment",), "remove_from_segment": ("static_segment",),
    "change_points": ("points",),
    "set_field": ("target", "value_text", "value_number", "value_date", "value_boolean", "value_country"),
    "start_campaign": ("campaign",), "leave": (), "send_email": ("email",), "send_sms": ("sms",),
    "notify_staff": ("group", "user", "note"), "webhook": ("url", "secret_name"),
}
ADDABLE_KINDS = ("action", "wait", "decision", "condition", "split", "goal")
# set_field's value input for each type of field or property.
Type = PropertyDefinition.Type
COUNTRY = "country"  # the country field: a text column, its value chosen by name
VALUE_FIELDS = {Type.TEXT: "value_text", Type.NUMBER: "value_number", Type.DATE: "value_date",
                Type.BOOLEAN: "value_boolean", COUNTRY: "value_country"}
PROPERTY_PREFIX = "properties."  # a property's target, as form mappings name it


def kind_choices() -> list[tuple[str, str]]:
    return [(name, STEP_KINDS[name].label) for name in ADDABLE_KINDS if name in STEP_KINDS]


def action_choices() -> list[tuple[str, str]]:
    return sorted(((name, str(cls.label or name)) for name, cls in ACTIONS.items()), key=lambda c: c[1])


def _pk(value):
    return getattr(value, "pk", value)


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def shown_when(form: forms.Form, control: str, fields: dict[str, str]) -> None:
    """Mark fields to be shown only while ``control`` has one of the values (shown_when.js);
    without script every field shows, and the kind's checks still say what is missing."""
    for name, values in fields.items():
        form.fields[name].widget.attrs["data-wsg-shown-when"] = f"{control}:{values}"


def settable_targets(stored: str = "") -> tuple[list, dict[str, str]]:
    """What a set_field step may set, as a select's grouped choices (contact fields by name,
    declared properties with their type, as the rule builder lists them), and each one's
    type. A stored property no longer declared stays listed, marked, so that the form shows
    what is saved (and the step's checks refuse it)."""
    fields = [(name, contact_field_label(name)) for name in SETTABLE_FIELDS]
    types = {name: COUNTRY if name == "country" else settable_field_type(name) for name in SETTABLE_FIELDS}
    properties = []
    for prop in PropertyDefinition.objects.order_by("label", "key"):
        target = PROPERTY_PREFIX + prop.key
        properties.append((target, _("%(property)s (%(type)s)")
                           % {"property": prop.label or prop.key, "type": prop.get_type_display()}))
        types[target] = prop.type
    if stored.startswith(PROPERTY_PREFIX) and stored not in types:
        properties.append((stored, _("“%(key)s” (no longer declared)") % {"key": stored.removeprefix(PROPERTY_PREFIX)}))
        types[stored] = Type.TEXT
    choices = [("", "---------"), (_("Contact fields"), fields)]
    if properties:
        choices.append((_("Properties"), properties))
    return choices, types


def secret_choices(stored: str | None = None) -> list[tuple[str, str]]:
    """The webhook secrets a step may sign with, by the names the site gave them in
    WEBHOOK_SECRETS (never their values), after the site's own WEBHOOK_SECRET. A stored
    name the setting no longer has stays listed, marked, so that saving does not drop it."""
    names = sorted(conf.WEBHOOK_SECRETS or {})
    choices = [("", _("The site's secret (WEBHOOK_SECRET)") if conf.WEBHOOK_SECRET else "---------")]
    choices += [(name, name) for name in names]
    if stored and stored not in names:
        choices.append((stored, _("%(name)s (not in WEBHOOK_SECRETS)") % {"name": stored}))
    return choices


class StepForm(forms.Form):
    """A step's name and its kind's settings; ``config()`` is what the engine stores."""

    kind = ""
    name = forms.CharField(label=_("Name"), required=False, max_length=255,
                           help_text=_("What editors read in the outline and the tree. Empty: what the step "
                                       "does, such as “Send an email: Welcome”."))

    def __init__(self, *args, config: dict | None = None, **kwargs):
        self.stored = dict(config or {})
        kwargs.setdefault("initial", {}).update(self.initial_from(self.stored))
        super().__init__(*args, **kwargs)

    @property
    def media(self):
        return super().media + forms.Media(js=["wagtail_segments/admin/shown_when.js"])

    def initial_from(self, config: dict) -> dict:
        return {}

    def config(self) -> dict:
        raise NotImplementedError

    def clean(self):
        cleaned = super().clean()
        if not self.errors:
            step = Step(kind=self.kind, config=self.config())
            for problem in step_problems(step):
                self.add_error(None, problem)
        return cleaned


class ActionStepForm(StepForm):
    kind = "action"
    tags = TagNamesField(label=_("Tags"), required=False)
    static_segment = forms.ModelChoiceField(Segment.objects.filter(kind="static"), label=_("Segment"),
                                            required=False)
    points = forms.IntegerField(label=_("Points"), required=False,
                                help_text=_("A negative number takes points away."))
    target = forms.ChoiceField(label=_("Contact field or property"), required=False)
    value_text = forms.CharField(label=_("Value"), required=False)
    value_number = forms.CharField(label=_("Value"), required=False, widget=forms.NumberInput(attrs={"step": "any"}))
    # The picker writes ISO dates whatever WAGTAIL_DATE_FORMAT says, as the contact form's.
    value_date = forms.CharField(label=_("Value"), required=False, widget=AdminDateInput(format="%Y-%m-%d"))
    value_boolean = forms.ChoiceField(label=_("Value"), required=False,
                                      choices=[("true", _("Yes")), ("false", _("No"))])
    value_country = forms.ChoiceField(label=_("Value"), required=False)
    campaign = forms.ModelChoiceField(Campaign.objects.all(), label=_("Campaign"), required=False)
    email = forms.ModelChoiceField(EmailMessage.objects.all(), label=_("Email"), required=False)
    sms = forms.ModelChoiceField(SmsMessage.objects.all(), label=_("SMS message"), required=False)
    group = forms.ModelChoiceField(Group.objects.all(), label=_("Group to notify"), required=False)
    user = forms.ModelChoiceField(get_user_model().objects.filter(is_active=True), label=_("or user to notify"),
                                  required=False)
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    url = forms.URLField(label=_("Address (URL)"), required=False, assume_scheme="https")
    secret_name = forms.ChoiceField(label=_("Signed with"), required=False)

    def __init__(self, *args, action: str, **kwargs):
        self.action = action
        super().__init__(*args, **kwargs)
        self.fields["secret_name"].choices = secret_choices(self.stored.get("secret_name"))
        wanted = {"name", *ACTION_FIELDS.get(action, ())}
        for name in list(self.fields):
            if name not in wanted:
                del self.fields[name]
        if action == "set_field":
            self.setup_value_fields()

    def setup_value_fields(self) -> None:
        """The target select, and each type's value input shown only for the targets of
        that type (the text one also before a target is chosen); a type no target has is
        left out."""
        stored = self.initial.get("target") or ""
        self.fields["target"].choices, self.target_types = settable_targets(stored)
        for name in set(VALUE_FIELDS.values()) - {self.value_field_name(stored)}:
            self.initial.pop(name, None)  # a switch to another type starts that input empty
        country = self.initial.get("value_country") or ""
        if country.upper() in country_codes():  # "fr" is France
            country = self.initial["value_country"] = country.upper()
        self.fields["value_country"].choices = country_choices_keeping(country, empty_label=_("No country"))
        for kind, name in VALUE_FIELDS.items():
            targets = [target for target, of in self.target_types.items() if of == kind]
            if kind == Type.TEXT:
                targets.insert(0, "")
            if not targets:
                del self.fields[name]
                continue
            self.fields[name].widget.attrs["data-wsg-shown-when"] = "target:" + " ".join(targets)

    def value_field_name(self, target: str) -> str:
        return VALUE_FIELDS[self.target_types.get(target, Type.TEXT)]

    def set_field_config(self) -> tuple[dict, PropertyValueError | None]:
        """The step's settings, the value typed; and why the value does not fit, if it does not
        (the value is then kept as typed in)."""
        target = self.cleaned_data.get("target") or ""
        config = {"action": self.action}
        if target.startswith(PROPERTY_PREFIX):
            config["property"] = target.removeprefix(PROPERTY_PREFIX)
        elif target:
            config["field"] = target
        config["value"] = self.cleaned_data.get(self.value_field_name(target))
        if not target:
            return config, None
        try:
            config["value"] = set_field_value(config, {config.get("property"): self.target_types[target]})
        except PropertyValueError as error:
            return config, error
        return config, None

    def clean(self):
        if self.action == "set_field" and not self.errors:
            _config, error = self.set_field_config()
            if error is not None:
                self.add_error(self.value_field_name(self.cleaned_data.get("target") or ""), str(error))
        return super().clean()

    def initial_from(self, config):
        value = config.get("value")
        try:
            boolean = shown_text(parse_boolean(value))
        except PropertyValueError:
            boolean = None
        return {
            "tags": config.get("tags") or [],
            "static_segment": config.get("segment"), "points": config.get("points"),
            "target": config.get("field") or (PROPERTY_PREFIX + config["property"] if config.get("property") else ""),
            "value_text": shown_text(value), "value_number": shown_text(value), "value_date": shown_text(value),
            "value_boolean": boolean, "value_country": shown_text(value),
            "campaign": config.get("campaign"), "email": config.get("message"), "sms": config.get("message"),
            "group": config.get("group"), "user": config.get("user"), "note": config.get("note"),
            "url": config.get("url"), "secret_name": config.get("secret_name"),
        }

    def config(self):
        data, config = self.cleaned_data, {"action": self.action}
        if self.action not in ACTION_FIELDS:  # a site's own action: keep what Python gave it
            return {**self.stored, "action": self.action}
        if self.action == "set_field":
            return self.set_field_config()[0]
        for name in ACTION_FIELDS[self.action]:
            value = data.get(name)
            if name == "tags":
                config["tags"] = value
            elif name == "static_segment":
                config["segment"] = _pk(value)
            elif name in ("email", "sms"):
                config["message"] = _pk(value)
            elif name in ("campaign", "group", "user"):
                if value is not None or name == "campaign":
                    config[name] = _pk(value)
            elif value not in (None, ""):
                config[name] = value
        return config


class LengthMixin(forms.Form):
    """A length of time: a number and its unit (a wait's or a decision's)."""

    amount = forms.IntegerField(label=_("How long"), min_value=0, required=False)
    unit = forms.ChoiceField(label=_("Unit"), choices=UNITS, initial="days", required=False)

    def length_initial(self, config):
        for unit, _label in UNITS:
            if config.get(unit) not in (None, ""):
                return {"amount": config[unit], "unit": unit}
        return {}

    def length(self) -> dict:
        amount = self.cleaned_data.get("amount")
        return {} if amount is None else {self.cleaned_data.get("unit") or "days": amount}


class WaitStepForm(LengthMixin, StepForm):
    kind = "wait"
    wait_for = forms.ChoiceField(label=_("Wait"), widget=forms.RadioSelect, initial="length", choices=[
        ("length", _("for a length of time")), ("until", _("until a date and time")),
        ("weekday", _("until a day of the week")), ("window", _("until a time-of-day window opens")),
    ])
    until = forms.DateTimeField(label=_("Until"), required=False, widget=AdminDateTimeInput)
    weekday = forms.TypedChoiceField(label=_("Day"), choices=WEEKDAYS, coerce=int, required=False)
    at = forms.TimeField(label=_("At"), required=False, widget=AdminTimeInput)
    window_from = forms.TimeField(label=_("Window opens"), required=False, widget=AdminTimeInput)
    window_until = forms.TimeField(label=_("Window closes"), required=False, widget=AdminTimeInput)
    window_days = forms.TypedMultipleChoiceField(label=_("On days"), choices=WEEKDAYS, coerce=int, required=False,
                                                 widget=forms.CheckboxSelectMultiple,
                                                 help_text=_("None ticked: every day."))
    field_order = ["name", "wait_for", "amount", "unit"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        shown_when(self, "wait_for", {
            "amount": "length", "unit": "length", "until": "until", "weekday": "weekday", "at": "weekday",
            "window_from": "window", "window_until": "window", "window_days": "window",
        })

    def initial_from(self, config):
        if config.get("until"):
            return {"wait_for": "until", "until": datetime.datetime.fromisoformat(config["until"])}
        if config.get("weekday") is not None:
            return {"wait_for": "weekday", "weekday": config["weekday"], "at": config.get("at")}
        if isinstance(config.get("window"), dict):
            window = config["window"]
            return {"wait_for": "window", "window_from": window.get("from"), "window_until": window.get("until"),
                    "window_days": window.get("days") or []}
        return {"wait_for": "length", **self.length_initial(config)}

    def config(self):
        data = self.cleaned_data
        how = data.get("wait_for")
        if how == "until":
            return {"until": data["until"].isoformat()} if data.get("until") else {}
        if how == "weekday":
            return {"weekday": data.get("weekday"), "at": data["at"].strftime("%H:%M") if data.get("at") else None}
        if how == "window":
            window = {"from": data["window_from"].strftime("%H:%M") if data.get("window_from") else None,
                      "until": data["window_until"].strftime("%H:%M") if data.get("window_until") else None}
            if data.get("window_days"):
                window["days"] = list(data["window_days"])
            return {"window": window}
        return self.length()


def form_page_chooser():
    return AdminPageChooser(target_models=form_page_models() or None)


class DecisionStepForm(LengthMixin, StepForm):
    kind = "decision"
    did = forms.ChoiceField(label=_("Did the contact"), choices=[
        ("opened", _("open an email")), ("clicked", _("click in an email")), ("visited", _("visit a page")),
        ("submitted", _("submit a form")), ("tagged", _("get a tag")), ("entered_segment", _("enter a segment")),
    ])
    email = forms.ModelChoiceField(EmailMessage.objects.all(), label=_("Email"), required=False)
    machine_opens = forms.BooleanField(label=_("Count opens by mail-privacy proxies"), required=False)
    page = forms.IntegerField(label=_("Page"), required=False, widget=AdminPageChooser())
    descendants = forms.BooleanField(label=_("or any page under it"), required=False)
    form = forms.IntegerField(label=_("Form"), required=False)
    tag = OneTagField(label=_("Tag"), required=False)
    segment = forms.ModelChoiceField(Segment.objects.all(), label=_("Segment"), required=False)
    field_order = ["name", "did", "email", "machine_opens", "page", "descendants", "form", "tag", "segment",
                   "amount", "unit"]

    SHOWN_WHEN = {"email": "opened clicked", "machine_opens": "opened clicked", "page": "visited",
                  "descendants": "visited", "form": "submitted", "tag": "tagged", "segment": "entered_segment"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["form"].widget = form_page_chooser()
        self.fields["amount"].label = _("Within")
        self.fields["amount"].required = True
        shown_when(self, "did", self.SHOWN_WHEN)

    def initial_from(self, config):
        return {"did": config.get("did"), "email": config.get("message"), "machine_opens": config.get("machine_opens"),
                "page": config.get("page"), "descendants": config.get("descendants"), "form": config.get("form"),
                "tag": config.get("tag"), "segment": config.get("segment"), **self.length_initial(config)}

    def config(self):
        data = self.cleaned_data
        did = data.get("did")
        config = {"did": did, **self.length()}
        if did in ("opened", "clicked"):
            config["message"] = _pk(data.get("email"))
            if data.get("machine_opens"):
                config["machine_opens"] = True
        elif did == "visited":
            config["page"] = _int(_pk(data.get("page")))
            if data.get("descendants"):
                config["descendants"] = True
        elif did == "submitted":
            config["form"] = _int(_pk(data.get("form")))
        elif did == "tagged":
            config["tag"] = (data.get("tag") or "").strip()
        elif did == "entered_segment":
            config["segment"] = _pk(data.get("segment"))
        return config


class ConditionStepForm(StepForm):
    """A condition's rules are a segment's rules, edited with the segments' rule builder."""

    kind = "condition"
    match = forms.ChoiceField(label=_("Match"), choices=[("all", _("all of the rules")), ("any", _("any of the rules"))])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.rules_block = RulesField().stream_block
        self.fields["rules"] = RulesField().formfield(label=_("Rules"), required=True)
        stored = self.stored.get("rules") or []
        self.initial["rules"] = self.rules_block.to_python(stored)

    def initial_from(self, config):
        return {"match": config.get("match") or "all"}

    def config(self):
        rules = self.cleaned_data.get("rules")
        raw = self.rules_block.get_prep_value(rules) if rules is not None else []
        return {"match": self.cleaned_data.get("match") or "all", "rules": raw}


class SplitStepForm(StepForm):
    kind = "split"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for label in SPLIT_LABELS:
            self.fields[f"share_{label}"] = forms.IntegerField(
                label=_("Share of branch %(branch)s (%%)") % {"branch": label.upper()}, min_value=0, max_value=100,
                required=False,
            )

    def initial_from(self, config):
        return {f"share_{name}": share for name, share in (config.get("shares") or {}).items()}

    def config(self):
        shares = {label: self.cleaned_data.get(f"share_{label}") for label in SPLIT_LABELS}
        return {"shares": {label: share for label, share in shares.items() if share}}


class GoalStepForm(StepForm):
    kind = "goal"
    segment = forms.ModelChoiceField(Segment.objects.all(), label=_("Contacts who enter this segment leave the campaign"),
                                     required=False)

    def initial_from(self, config):
        return {"segment": config.get("segment")}

    def config(self):
        return {"segment": _pk(self.cleaned_data.get("segment"))}


FORMS = {form.kind: form for form in (ActionStepForm, WaitStepForm, DecisionStepForm, ConditionStepForm,
                                      SplitStepForm, GoalStepForm)}


def step_form(kind: str, data=None, *, action: str | None = None, config: dict | None = None,
              name: str = "") -> StepForm | None:
    """The settings form of a step of ``kind`` (None for a kind the admin has no form for)."""
    form_class = FORMS.get(kind)
    if form_class is None:
        return None
    kwargs = {"config": config, "initial": {"name": name}}
    if form_class is ActionStepForm:
        kwargs["action"] = action or (config or {}).get("action") or ""
    return form_class(data, **kwargs)
