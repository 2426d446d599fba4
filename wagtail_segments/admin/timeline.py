"""What a timeline entry says about its event: a sentence and labelled values, never a repr.

An event's ``data`` is JSON written by the package (merges, segments, touchpoints, forms) or
by visitors (beacon custom events, form answers): every value here is plain text that the
template escapes, and nested values are shown as compact JSON, cut to ``MAX_VALUE_LENGTH``.
A kind this module does not know (a host's own) shows its data as labelled values.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.utils.translation import ngettext

from wagtail_segments.contacts.models import Event, EventKind, Touchpoint
from wagtail_segments.segments.models import Membership

MAX_VALUE_LENGTH = 300
MAX_ITEMS = 50


@dataclass
class EventDetails:
    """What the "Details" cell of one timeline entry shows."""

    summary: str = ""
    items: list[tuple[str, str]] = field(default_factory=list)  # (label, value)
    value_class: str = "wsg-value"  # the class of each value (form answers: "wsg-answer")


def as_text(value: Any, limit: int | None = MAX_VALUE_LENGTH) -> str:
    """A JSON value as an editor reads it: text as it is, yes/no, a list of plain values
    comma-separated, nested values as JSON; cut to ``limit`` characters (None: whole)."""
    if value is None:
        text = "—"
    elif isinstance(value, bool):
        text = _("yes") if value else _("no")
    elif isinstance(value, list) and not any(isinstance(item, (dict, list)) for item in value):
        text = ", ".join(as_text(item, None) for item in value)
    elif isinstance(value, (dict, list)):
        text = json.dumps(value, ensure_ascii=False, default=str)
    else:
        text = str(value)
    return Truncator(text).chars(limit) if limit else text


def labelled(data: Any, *, keys_as_labels: bool = True, whole: bool = False) -> list[tuple[str, str]]:
    """``data`` as (label, value) pairs: a dict's keys (humanised unless ``keys_as_labels`` is
    False, for names the visitor chose), anything else as one "Data" value. Values are cut and
    only the first ``MAX_ITEMS`` shown, unless ``whole``."""
    limit = None if whole else MAX_VALUE_LENGTH
    if not isinstance(data, dict):
        return [(_("Data"), as_text(data, limit))] if data not in (None, "", [], {}) else []
    shown = list(data.items()) if whole else list(data.items())[:MAX_ITEMS]
    pairs = [
        (key.replace("_", " ").capitalize() if keys_as_labels else str(key), as_text(value, limit))
        for key, value in shown
    ]
    if len(data) > len(shown):
        pairs.append(("…", ngettext("%(count)s more value", "%(count)s more values", len(data) - MAX_ITEMS)
                      % {"count": len(data) - MAX_ITEMS}))
    return pairs


def _label(choices, value: Any) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)


def _merge(data: dict) -> EventDetails:
    moved = data.get("events_moved")
    if not isinstance(moved, int):
        return EventDetails(_("Merged with another contact."))
    return EventDetails(ngettext(
        "Merged with another contact (%(count)s event moved).",
        "Merged with another contact (%(count)s events moved).",
        moved,
    ) % {"count": moved})


def _custom(data: dict) -> EventDetails:
    return EventDetails(
        _("Custom event “%(name)s”") % {"name": Truncator(str(data.get("name", ""))).chars(100)},
        labelled(data.get("data"), keys_as_labels=False),
    )


def _segment(data: dict) -> EventDetails:
    if data.get("initial"):
        how = _("first build of the segment")
    else:
        how = _label(Membership.Source, data.get("source", Membership.Source.RULE))
    return EventDetails(
        _("Segment “%(name)s”") % {"name": data.get("name") or data.get("segment", "")},
        [(_("Through"), how)],
    )


def _touchpoint(data: dict) -> EventDetails:
    summary = (_("%(kind)s (automatic)") if data.get("automatic") else _("%(kind)s (manual)")) % {
        "kind": _label(Touchpoint.Kind, data.get("kind", "")),
    }
    note = data.get("note")
    return EventDetails(summary, [(_("Note"), as_text(note))] if note else [])


def _form_submission(data: dict, labels: dict[str, str] | None = None) -> EventDetails:
    details = EventDetails(value_class="wsg-answer")
    if data.get("form_title"):
        details.summary = _("Submitted “%(title)s”") % {"title": data["form_title"]}
    answers = data.get("answers")
    # Answers are shown whole, under the form's labels when the form still has the field
    # (answers are stored by the field's clean name, which editors never see).
    details.items = labelled(answers, keys_as_labels=False, whole=True) if isinstance(answers, dict) else []
    if labels:
        # In the form's own order: the stored answers' order is the database's (PostgreSQL's
        # jsonb sorts keys), not the visitor's. Answers to fields since removed come last.
        order = {name: position for position, name in enumerate(labels)}
        details.items.sort(key=lambda item: order.get(item[0], len(order)))
        details.items = [(labels.get(name, name), value) for name, value in details.items]
    errors = data.get("errors")
    if errors:
        details.items.append((_("Not saved"), as_text(errors)))
    return details


def _time_on_page(data: dict) -> EventDetails:
    seconds = data.get("seconds")
    if isinstance(seconds, (int, float)) and not isinstance(seconds, bool):
        return EventDetails(_("%(seconds)s seconds on the page") % {"seconds": seconds})
    return EventDetails(items=labelled(data))


DESCRIBERS = {
    EventKind.MERGE: _merge,
    EventKind.CUSTOM: _custom,
    EventKind.SEGMENT_ENTERED: _segment,
    EventKind.SEGMENT_LEFT: _segment,
    EventKind.TOUCHPOINT: _touchpoint,
    EventKind.FORM_SUBMISSION: _form_submission,
    EventKind.TIME_ON_PAGE: _time_on_page,
}


def form_field_labels(page_ids) -> dict[int, dict[str, str]]:
    """The labels of the fields of the form pages ``page_ids``, by page id and field clean
    name: one query per distinct form page (a timeline page shows a few)."""
    from wagtail.models import Page

    labels: dict[int, dict[str, str]] = {}
    for page in Page.objects.filter(pk__in=set(page_ids)).specific():
        if hasattr(page, "get_form_fields"):
            labels[page.pk] = {field.clean_name: field.label for field in page.get_form_fields()}
    return labels


def event_details(event: Event, form_labels: dict[int, dict[str, str]] | None = None) -> EventDetails:
    """The summary and labelled values of ``event``'s data for the timeline; form answers
    under the labels ``form_labels`` (from ``form_field_labels``) gives for the event's page."""
    data = event.data
    if not data:
        return EventDetails()
    if event.kind == EventKind.FORM_SUBMISSION and isinstance(data, dict):
        return _form_submission(data, (form_labels or {}).get(event.page_id))
    describe = DESCRIBERS.get(event.kind)
    if describe is None and isinstance(data, dict) and set(data) == {"name", "data"}:
        describe = _custom  # the beacon's custom kinds (BEACON_CUSTOM_KINDS) have this shape
    if describe is None or not isinstance(data, dict):
        return EventDetails(items=labelled(data))
    return describe(data)


MESSAGE_SENTENCES = {
    EventKind.EMAIL_SENT: gettext_lazy("Sent “%(message)s”"),
    EventKind.EMAIL_DELIVERED: gettext_lazy("“%(message)s” delivered"),
    EventKind.EMAIL_OPENED: gettext_lazy("Opened “%(message)s”"),
    EventKind.EMAIL_CLICKED: gettext_lazy("Clicked a link in “%(message)s”"),
    EventKind.EMAIL_BOUNCED: gettext_lazy("“%(message)s” bounced"),
    EventKind.EMAIL_COMPLAINED: gettext_lazy("Marked “%(message)s” as spam"),
    EventKind.EMAIL_UNSUBSCRIBED: gettext_lazy("Unsubscribed from “%(message)s”"),
    EventKind.SMS_SENT: gettext_lazy("Sent the text “%(message)s”"),
}


SMS_SENTENCES = {
    EventKind.SMS_RECEIVED: gettext_lazy("Replied “%(text)s” by SMS"),
    EventKind.SMS_OPTED_OUT: gettext_lazy("Opted out of texts (%(source)s)"),
    EventKind.SMS_OPTED_IN: gettext_lazy("Opted back in to texts (%(source)s)"),
}


def _sms_headline(kind: str, data: dict) -> str:
    """"Replied STOP by SMS", "Replied “See you at 6” by SMS", "Opted out of texts (reply
    by SMS)": plain text, escaped by the template like every headline."""
    from wagtail_segments.messaging.reasons import source_label

    if kind == EventKind.SMS_RECEIVED:
        if data.get("keyword"):
            return _("Replied %(keyword)s by SMS") % {"keyword": str(data["keyword"])}
        return SMS_SENTENCES[kind] % {"text": Truncator(" ".join(str(data.get("body", "")).split())).chars(80)}
    return SMS_SENTENCES[kind] % {"source": source_label(str(data.get("source", "")))}


def message_names(events) -> dict[tuple[str, int], str]:
    """The names of the emails and texts that ``events`` name, in two queries at most."""
    from wagtail_segments.messaging.models import EmailMessage, SmsMessage

    wanted = {"message": set(), "sms_message": set()}
    for event in events:
        data = event.data if isinstance(event.data, dict) else {}
        for key in wanted:
            if isinstance(data.get(key), int):
                wanted[key].add(data[key])
    names = {}
    for key, model in (("message", EmailMessage), ("sms_message", SmsMessage)):
        if wanted[key]:
            names.update({(key, pk): name for pk, name in model.objects.filter(pk__in=wanted[key]).values_list("pk", "name")})
    return names


def headline(event: Event, messages: dict | None = None) -> str:
    """What the contact did, as a sentence an editor reads first ("Viewed “Pricing”",
    "Submitted “Newsletter”", "Entered segment “Customers”", "Opened “Welcome”"); the
    kind's label otherwise. ``messages``: message_names() of the page's events."""
    data = event.data if isinstance(event.data, dict) else {}
    if event.kind in MESSAGE_SENTENCES:
        key = "sms_message" if event.kind == EventKind.SMS_SENT else "message"
        name = (messages or {}).get((key, data.get(key)))
        if name:
            return MESSAGE_SENTENCES[event.kind] % {"message": Truncator(name).chars(120)}
    if event.kind == EventKind.PAGE_VIEW and (event.page_id or event.path):
        title = event.page.title if event.page_id and event.page else event.path
        return _("Viewed “%(page)s”") % {"page": Truncator(title).chars(120)}
    if event.kind == EventKind.FORM_SUBMISSION and data.get("form_title"):
        return _("Submitted “%(form)s”") % {"form": data["form_title"]}
    if event.kind in (EventKind.SEGMENT_ENTERED, EventKind.SEGMENT_LEFT):
        name = data.get("name") or data.get("segment") or ""
        if event.kind == EventKind.SEGMENT_ENTERED:
            return _("Entered segment “%(segment)s”") % {"segment": name}
        return _("Left segment “%(segment)s”") % {"segment": name}
    if event.kind in SMS_SENTENCES:
        return _sms_headline(event.kind, data)
    if event.kind == EventKind.TOUCHPOINT:
        return _("Touchpoint: %(kind)s") % {"kind": _label(Touchpoint.Kind, data.get("kind", "")).lower()}
    return event.kind_label
