"""A campaign's steps as the builder shows them: a tree of nodes with each step's settings in
words, its problems (from steps.validate_tree, which names the step) and how many contacts
stand at it and have gone through it, counted in one aggregate query."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, IntegerField, Value
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from wagtail_segments.campaigns.actions import ACTIONS
from wagtail_segments.campaigns.models import LIVE_STATES, Campaign, Run, Step, StepLog
from wagtail_segments.campaigns.steps import STEP_KINDS, RemovedStep, branch_label, step_kind, step_label, validate_tree

AT, THROUGH = 0, 1


def step_counts(campaign: Campaign) -> dict[int, list[int]]:
    """{step id: [live runs standing at it, runs that have done it]}: one query, the runs'
    and the step logs' counts grouped by step in a UNION."""
    at = (Run.objects.filter(campaign=campaign, state__in=LIVE_STATES, step__isnull=False)
          .values("step_id").annotate(which=Value(AT, output_field=IntegerField()), n=Count("id"))
          .values_list("step_id", "which", "n"))
    through = (StepLog.objects.filter(run__campaign=campaign, state=StepLog.State.DONE)
               .values("step_id").annotate(which=Value(THROUGH, output_field=IntegerField()), n=Count("id"))
               .values_list("step_id", "which", "n"))
    counts: dict[int, list[int]] = {}
    for step_id, which, n in at.union(through, all=True):
        counts.setdefault(step_id, [0, 0])[which] += n
    return counts


def _length(config: dict) -> str:
    """"3 days", "1 hour": a wait's or a decision's length in words."""
    for unit, words in (("minutes", lambda n: ngettext("%(n)s minute", "%(n)s minutes", n)),
                        ("hours", lambda n: ngettext("%(n)s hour", "%(n)s hours", n)),
                        ("days", lambda n: ngettext("%(n)s day", "%(n)s days", n)),
                        ("weeks", lambda n: ngettext("%(n)s week", "%(n)s weeks", n))):
        value = config.get(unit)
        if isinstance(value, int) and not isinstance(value, bool):
            return words(value) % {"n": value}
    return ""


def _weekday(number) -> str:
    from .campaign_forms import WEEKDAYS

    return str(dict(WEEKDAYS).get(number, number))


def describe(step: Step) -> str:
    """A step's settings in a few words for the outline and the tree."""
    config = step.config or {}
    if step.kind == "action":
        action = ACTIONS.get(config.get("action", ""))
        label = str(action.label) if action else config.get("action", "")
        if config.get("tags"):
            return f"{label}: {', '.join(config['tags'])}"
        if config.get("points") is not None:
            return f"{label}: {config['points']}"
        for key, model in (("message", _message_model(config)), ("segment", "segment"), ("campaign", "campaign")):
            if config.get(key) and model:
                return f"{label}: {_name(model, config[key])}"
        if config.get("action") == "set_field" and (config.get("field") or config.get("property")):
            value = config.get("value")
            return _("%(label)s: %(target)s = %(value)s") % {
                "label": label, "target": _set_field_target(config),
                "value": _("(empty)") if value in (None, "") else value}
        return label
    if step.kind == "wait":
        if _length(config):
            return _("Wait %(length)s") % {"length": _length(config)}
        if config.get("until"):
            return _("Wait until %(when)s") % {"when": config["until"].replace("T", " ")}
        if config.get("weekday") is not None:
            return _("Wait until %(day)s %(at)s") % {"day": _weekday(config["weekday"]), "at": config.get("at") or ""}
        if isinstance(config.get("window"), dict):
            return _("Wait for %(from)s–%(until)s") % {"from": config["window"].get("from"),
                                                        "until": config["window"].get("until")}
        return _("Wait")
    if step.kind == "decision":
        within = _length(config)
        what = {"opened": _("Opened %(what)s"), "clicked": _("Clicked in %(what)s"), "visited": _("Visited %(what)s"),
                "submitted": _("Submitted %(what)s"), "tagged": _("Tagged %(what)s"),
                "entered_segment": _("Entered %(what)s")}.get(config.get("did"), "%(what)s")
        target = {"opened": ("emailmessage", "message"), "clicked": ("emailmessage", "message"),
                  "visited": ("page", "page"), "submitted": ("page", "form"),
                  "entered_segment": ("segment", "segment")}.get(config.get("did"))
        name = _name(target[0], config.get(target[1])) if target else config.get("tag", "")
        return _("%(what)s within %(within)s?") % {"what": what % {"what": name}, "within": within}
    if step.kind == "condition":
        count = len(config.get("rules") or [])
        return _("Matches %(match)s of %(count)s rules?") % {"match": _(config.get("match") or "all"), "count": count}
    if step.kind == "split":
        return " / ".join(f"{branch_label(n)} {s}%" for n, s in (config.get("shares") or {}).items())
    if step.kind == "goal":
        return _("Leaves on entering %(segment)s") % {"segment": _name("segment", config.get("segment"))}
    return ""


def _set_field_target(config: dict) -> str:
    """The name an editor knows the set field or property by: its label, not its key."""
    from django.core.exceptions import FieldDoesNotExist

    from wagtail_segments.contacts.models import PropertyDefinition, contact_field_label

    if config.get("property"):
        found = PropertyDefinition.objects.filter(key=config["property"]).values_list("label", flat=True).first()
        return found or config["property"]
    try:
        return str(contact_field_label(config["field"]))
    except FieldDoesNotExist:
        return str(config["field"])


def _message_model(config: dict) -> str | None:
    return {"send_email": "emailmessage", "send_sms": "smsmessage"}.get(config.get("action"))


def _name(model: str, pk) -> str:
    from django.apps import apps

    import swapper

    if model == "page":
        Model = swapper.load_model("wagtailcore", "Page")
    else:
        Model = apps.get_model("wagtail_segments", model)
    try:
        found = Model.objects.filter(pk=int(pk)).first()
    except (TypeError, ValueError):
        found = None
    return str(found) if found is not None else _("(missing)")


@dataclass
class Branch:
    name: str
    label: str
    node: "Node | None"


@dataclass
class Node:
    step: Step
    label: str
    kind_label: str
    summary: str
    at: int = 0
    through: int = 0
    problems: list[str] = field(default_factory=list)
    branches: list[Branch] = field(default_factory=list)

    @property
    def single_next(self) -> bool:
        return [b.name for b in self.branches] == [Step.Branch.NEXT]

    @property
    def next_node(self) -> "Node | None":
        return self.branches[0].node if self.single_next else None


@dataclass
class Tree:
    roots: list[Node]
    goals: list[Node]
    stray: list[Node]
    problems: list[str]  # those validate_tree gave that name no step of the tree

    def nodes(self) -> list[Node]:
        found, todo = [], [*self.roots, *self.goals, *self.stray]
        while todo:
            node = todo.pop(0)
            found.append(node)
            todo += [b.node for b in node.branches if b.node is not None]
        return found


def build_tree(campaign: Campaign, counts: dict[int, list[int]] | None = None) -> Tree:
    """The campaign's steps as nodes, with counts and each problem on the step it names."""
    steps = list(campaign.steps.exclude(kind=RemovedStep.name).order_by("pk"))
    counts = step_counts(campaign) if counts is None else counts
    nodes = {}
    for step in steps:
        kind = STEP_KINDS.get(step.kind)
        at, through = counts.get(step.pk, [0, 0])
        nodes[step.pk] = Node(step=step, label=step_label(step), kind_label=str(kind.label if kind else step.kind),
                              summary=describe(step), at=at, through=through)
    problems = validate_tree(campaign)
    by_label: dict[str, list[Node]] = {}
    for node in nodes.values():
        by_label.setdefault(node.label, []).append(node)
    unplaced = []
    for problem in problems:
        owners = [n for label, found in by_label.items()
                  if problem.startswith(_("Step “%(step)s”: %(problem)s") % {"step": label, "problem": ""})
                  for n in found]
        for node in owners:
            node.problems.append(problem.split("”: ", 1)[-1])
        if not owners:
            unplaced.append(problem)

    children: dict[int, dict[str, Node]] = {}
    for step in steps:
        if step.parent_id in nodes:
            children.setdefault(step.parent_id, {})[step.branch] = nodes[step.pk]
    for node in nodes.values():
        kind = step_kind(node.step)
        names = list(kind.branch_names(node.step.config or {})) if kind else []
        mine = children.get(node.step.pk, {})
        names += [name for name in mine if name not in names]  # a branch the parent lost still shows
        node.branches = [Branch(name, branch_label(name), mine.get(name)) for name in names]

    roots = [nodes[s.pk] for s in steps if s.parent_id is None and (STEP_KINDS.get(s.kind) is None or STEP_KINDS[s.kind].in_path)]
    goals = [nodes[s.pk] for s in steps if s.parent_id is None and s.kind in STEP_KINDS and not STEP_KINDS[s.kind].in_path]
    tree = Tree(roots=roots, goals=goals, stray=[], problems=unplaced)
    reached = {node.step.pk for node in tree.nodes()}
    tree.stray = [node for pk, node in nodes.items() if pk not in reached]  # on a loop: listed flat
    return tree


def places(campaign: Campaign, moving: Step) -> list[tuple[str, str]]:
    """Where a step that goes straight on can be moved: ("<parent id>:<branch>", words)."""
    options = [("start:next", _("At the start"))]
    tree = build_tree(campaign, counts={})
    for node in tree.nodes():
        if node.step.pk == moving.pk or not STEP_KINDS.get(node.step.kind, RemovedStep).in_path:
            continue
        for branch in node.branches:
            if branch.node is not None and branch.node.step.pk == moving.pk:
                continue
            words = (_("After “%(step)s”") if branch.name == Step.Branch.NEXT
                     else _("After “%(step)s”, on %(branch)s")) % {"step": node.label, "branch": branch.label}
            options.append((f"{node.step.pk}:{branch.name}", words))
    return options
