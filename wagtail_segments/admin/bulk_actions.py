"""What the contacts listing's bulk actions do, apart from the screens that ask for them.

Each action takes contact ids in batches (never the whole set in memory), checks nothing
about the user (the view did), and returns how many contacts it changed. The same code runs
in the request for a small set and in a django-q2 task for a large one.
"""

from __future__ import annotations

import csv
from typing import Callable, ClassVar, Iterable, Iterator

from django import forms
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from wagtail_segments.contacts.models import Contact, ContactTag, TaggedContact
from wagtail_segments.contacts.tagging import tag_contacts, untag_contacts
from wagtail_segments.segments import manual
from wagtail_segments.segments.exporting import CONTACT_COLUMNS, _Echo, guard_cell
from wagtail_segments.segments.models import Segment
from wagtail_segments.segments.receivers import mark_contacts_changed

from . import audit
from .widgets import OneTagField

Progress = Callable[[int], None]


class SegmentForm(forms.Form):
    segment = forms.ModelChoiceField(
        queryset=Segment.objects.order_by("name"), label=_("Segment"),
        help_text=_("A static segment's members, or a dynamic segment's manual includes and excludes."),
    )


class TagForm(forms.Form):
    tag = OneTagField(label=_("Tag"), max_length=100)


class ContactsBulkAction:
    """One bulk action: a name, a label, the permission it needs, its options form."""

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""
    permission: ClassVar[str] = "wagtail_segments.change_contact"
    form_class: ClassVar[type[forms.Form]] = forms.Form
    audit_action: ClassVar[str] = ""
    destructive: ClassVar[bool] = False

    def run(self, batches: Iterable[list[int]], options: dict, progress: Progress) -> int:
        done = 0
        for batch in batches:
            done += self.apply(batch, options)
            progress(len(batch))
        return done

    def apply(self, ids: list[int], options: dict) -> int:
        raise NotImplementedError

    def audit_target(self, options: dict):
        """The object whose history records the action, or None for the contacts as a whole."""
        return None

    def describe(self, options: dict) -> str:
        return str(self.label)


class AddToSegment(ContactsBulkAction):
    name = "add_to_segment"
    label = _("Add to a segment")
    permission = "wagtail_segments.change_segment"
    form_class = SegmentForm
    audit_action = audit.MEMBERS_ADDED

    def apply(self, ids, options):
        return manual.add_contacts(options["segment"], ids)

    def audit_target(self, options):
        return options["segment"]


class RemoveFromSegment(AddToSegment):
    name = "remove_from_segment"
    label = _("Remove from a segment")
    audit_action = audit.MEMBERS_REMOVED

    def apply(self, ids, options):
        return manual.remove_contacts(options["segment"], ids)


class AddTag(ContactsBulkAction):
    name = "add_tag"
    label = _("Add a tag")
    form_class = TagForm
    audit_action = audit.CONTACTS_TAGGED

    def apply(self, ids, options):
        tag = self.tag(options["tag"])
        with transaction.atomic():
            # One insert, one signal for the batch: campaigns entered by this tag enrol the
            # newly tagged contacts and decisions waiting for it answer yes, as contact.tags.add()
            # would make them; the segments engine is told here.
            tag_contacts(tag, ids)
            mark_contacts_changed(ids, "tags")
        return len(ids)

    def tag(self, name: str) -> ContactTag:
        found = ContactTag.objects.filter(name__iexact=name.strip()).first()
        return found or ContactTag.objects.create(name=name.strip())


class RemoveTag(AddTag):
    name = "remove_tag"
    label = _("Remove a tag")
    audit_action = audit.CONTACTS_UNTAGGED

    def apply(self, ids, options):
        removed = 0
        with transaction.atomic():
            # One delete and one pre/post_remove pair per tag for the batch, as
            # contact.tags.remove() would send them one contact at a time.
            for tag in ContactTag.objects.filter(name__iexact=options["tag"].strip()).order_by("pk"):
                removed += len(untag_contacts(tag, ids))
            mark_contacts_changed(ids, "tags")
        return removed


class ExportCSV(ContactsBulkAction):
    """Answered as a streamed download in the request, whatever the size (no task)."""

    name = "export"
    label = _("Export as CSV")
    permission = "wagtail_segments.export_contacts"
    audit_action = audit.CONTACTS_EXPORTED


class DeleteContacts(ContactsBulkAction):
    name = "delete"
    label = _("Delete")
    permission = "wagtail_segments.delete_contact"
    audit_action = audit.CONTACTS_DELETED
    destructive = True

    def apply(self, ids, options):
        with transaction.atomic():
            deleted = Contact.objects.filter(pk__in=ids).count()
            Contact.objects.filter(pk__in=ids).delete()
        return deleted


ACTIONS: dict[str, ContactsBulkAction] = {
    action.name: action()
    for action in (AddToSegment, RemoveFromSegment, AddTag, RemoveTag, ExportCSV, DeleteContacts)
}


def contacts_csv_lines(batches: Iterable[list[int]]) -> Iterator[str]:
    """The contacts as CSV (the columns of a segment export, so it imports back), with a BOM
    for Excel; each cell guarded against formulas."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(CONTACT_COLUMNS)
    for ids in batches:
        tags: dict[int, list[str]] = {}
        for contact_id, name in (
            TaggedContact.objects.filter(content_object_id__in=ids)
            .order_by("tag__name").values_list("content_object_id", "tag__name")
        ):
            tags.setdefault(contact_id, []).append(name)
        rows = (
            Contact.objects.filter(pk__in=ids).order_by("pk")
            .values_list("pk", "email", "first_name", "last_name", "phone", "company__name", "country", "points")
        )
        for pk, email, first, last, phone, company, country, points in rows:
            yield writer.writerow([
                guard_cell(email), guard_cell(first), guard_cell(last), guard_cell(phone),
                guard_cell(company), guard_cell(country), str(points), guard_cell(", ".join(tags.get(pk, []))),
            ])
