"""What an import of contacts did: the counts, the errors and warnings by line, and its text.

The counts stay exact however long the file; only the first ``MAX_MESSAGES`` messages are
kept, so a file of a million bad rows does not hold a million strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import gettext as _

MAX_MESSAGES = 1_000  # errors and warnings kept in a report; the counts stay exact


@dataclass
class ChunkResult:
    """What writing one chunk did, merged into the report once the chunk is final (committed,
    or rolled back by a dry run): a chunk retried after a conflict is counted once."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    skipped: int = 0
    added: int = 0  # what the writer's ``after_chunk`` hook returned (segments: new members)
    errors: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    seen: list = field(default_factory=list)
    created_ids: list = field(default_factory=list)


@dataclass
class ImportReport:
    """What an import did. ``rows`` = created + updated + unchanged + duplicates + skipped."""

    rows: int = 0  # data rows read (blank lines are not rows)
    created: int = 0  # new contacts
    updated: int = 0  # contacts that existed before the import and were changed
    unchanged: int = 0  # contacts that existed and had nothing new (or update_existing=False)
    duplicates: int = 0  # rows whose email an earlier row of the file already had
    skipped: int = 0  # rows not imported because of an error
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line, message); line 1 = header
    warnings: list[tuple[int, str]] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)  # mapped to None, or export-only
    columns: dict[str, str] = field(default_factory=dict)  # header -> target
    dry_run: bool = False
    fatal: str = ""  # why nothing could be read at all (no email column, empty file…)
    messages_left_off: int = 0  # errors and warnings beyond MAX_MESSAGES, counted only

    @property
    def imported(self) -> int:
        """Rows that were imported (not skipped)."""
        return self.rows - self.skipped

    @property
    def failed(self) -> bool:
        """Nothing could be imported: the file was unreadable or every row had an error."""
        return bool(self.fatal) or (self.rows > 0 and self.imported == 0)

    def add_error(self, line: int, message: str) -> None:
        self._add(self.errors, line, message)

    def add_warning(self, line: int, message: str) -> None:
        self._add(self.warnings, line, message)

    def _add(self, target: list, line: int, message: str) -> None:
        if len(self.errors) + len(self.warnings) < MAX_MESSAGES:
            target.append((line, message))
        else:
            self.messages_left_off += 1

    def add_chunk(self, result: ChunkResult) -> None:
        """Count a chunk once it is final; its messages go in by line."""
        self.created += result.created
        self.updated += result.updated
        self.unchanged += result.unchanged
        self.duplicates += result.duplicates
        self.skipped += result.skipped
        for line, message in sorted(result.errors):
            self.add_error(line, message)
        for line, message in sorted(result.warnings):
            self.add_warning(line, message)

    def summary_lines(self) -> list[str]:
        """What was done, after a readable file: the counts (a subclass adds its own)."""
        return [
            _("%(rows)s rows read: %(created)s contacts created, %(updated)s updated, "
              "%(unchanged)s unchanged, %(duplicates)s duplicate rows merged, "
              "%(skipped)s rows skipped for errors.")
            % {"rows": self.rows, "created": self.created, "updated": self.updated,
               "unchanged": self.unchanged, "duplicates": self.duplicates, "skipped": self.skipped}
        ]

    def as_text(self) -> str:
        lines = []
        if self.dry_run:
            lines.append(_("Dry run: nothing was saved."))
        if self.fatal:
            lines.append(_("Nothing was imported: %(reason)s") % {"reason": self.fatal})
        else:
            lines.extend(self.summary_lines())
        if self.columns:
            lines.append(_("Columns: %(columns)s") % {
                "columns": ", ".join(f"{header} → {target}" for header, target in self.columns.items())
            })
        if self.unknown_columns:
            lines.append(_("Unknown columns (ignored): %(columns)s") % {"columns": ", ".join(self.unknown_columns)})
        if self.ignored_columns:
            lines.append(_("Ignored columns: %(columns)s") % {"columns": ", ".join(self.ignored_columns)})
        for title, messages in ((_("Errors:"), self.errors), (_("Warnings:"), self.warnings)):
            if messages:
                lines.append(title)
                lines.extend(_("  line %(line)s: %(message)s") % {"line": line, "message": message}
                             for line, message in messages)
        if self.messages_left_off:
            lines.append(_("… and %(count)s more errors and warnings.") % {"count": self.messages_left_off})
        return "\n".join(lines)
