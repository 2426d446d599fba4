"""Importing contacts from CSV into a segment.

Reading the file and creating or updating the contacts is the contacts package's work
(``contacts/importing/``). What this adds is the segment's part: each chunk's contacts become
sticky members (``segments.manual.add_contacts``) inside the chunk's transaction, so a dry run
rolls the memberships back with the contacts, and the report says how many joined. The dynamic
segments hear of the imported contacts through ``contacts_imported`` (``on_contacts_imported``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import partial
from typing import IO, Callable

from django.utils.translation import ngettext

from wagtail_segments.contacts import importing as contacts_importing
from wagtail_segments.contacts.importing import CHUNK_SIZE, ImportReport
from wagtail_segments.contacts.importing.report import ChunkResult

from .manual import add_contacts
from .models import Membership, Segment


@dataclass
class SegmentImportReport(ImportReport):
    """An import's report, with the segment the contacts were added to."""

    segment: str | None = None  # the segment's slug
    added_to_segment: int = 0  # contacts that were not members of the segment before

    def add_chunk(self, result: ChunkResult) -> None:
        super().add_chunk(result)
        self.added_to_segment += result.added

    def summary_lines(self) -> list[str]:
        lines = super().summary_lines()
        if self.segment:
            lines.append(
                ngettext(
                    "%(count)s contact added to segment “%(segment)s”.",
                    "%(count)s contacts added to segment “%(segment)s”.",
                    self.added_to_segment,
                ) % {"count": self.added_to_segment, "segment": self.segment}
            )
        return lines


def import_contacts(
    file_or_path: str | os.PathLike | IO,
    *,
    segment: Segment | str | None = None,
    mapping: dict[str, str | None] | None = None,
    source: str = Membership.Source.IMPORT,
    update_existing: bool = True,
    dry_run: bool = False,
    delimiter: str | None = None,
    chunk_size: int = CHUNK_SIZE,
    progress: Callable[[ImportReport], None] | None = None,
) -> SegmentImportReport:
    """Create or update contacts from a CSV file, deduplicated by email, and add them to
    ``segment`` (a Segment or its slug) as sticky members with ``source``.

    The other arguments are those of ``contacts.importing.import_contacts``;
    with ``update_existing=False`` contacts that already exist are only added to the segment.
    """
    if source not in Membership.Source.values:
        raise ValueError(f"Unknown membership source {source!r}.")
    if isinstance(segment, str):
        segment = Segment.objects.get(slug=segment)
    add_to_segment = partial(add_contacts, segment, source=source) if segment is not None else None
    report = SegmentImportReport(segment=segment.slug if segment is not None else None)
    return contacts_importing.import_contacts(
        file_or_path, mapping=mapping, update_existing=update_existing, dry_run=dry_run,
        delimiter=delimiter, chunk_size=chunk_size, progress=progress,
        after_chunk=add_to_segment, report=report,
    )


def on_contacts_imported(sender, changed_ids: list[int], tagged_ids: list[int], **kwargs) -> None:
    """Bulk writes send no ``post_save`` or ``m2m_changed``: re-evaluate the imported contacts
    whose fields or tags changed, after commit, as those signals would have."""
    from . import receivers

    if changed_ids:
        receivers.mark_contacts_changed(changed_ids, "contact")
    if tagged_ids:
        receivers.mark_contacts_changed(tagged_ids, "tags")
