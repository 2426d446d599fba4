"""From physical lines to CSV records: the header, then each well-formed data record.

A broken record (a csv error, a quote left open, a line that is not UTF-8, the wrong number of
columns) is reported with its first line number and counted as a row skipped; the lines after
its first are read again, so one stray quote costs one row, not the rest of the file.
"""

from __future__ import annotations

import csv
from typing import Iterator

from django.utils.translation import gettext as _

from .lines import ImportFileError, NumberedLines, RecordTooLong
from .report import ImportReport


def read_header(reader, lines: NumberedLines) -> list[str]:
    """The cells of the first non-blank record ([] for a file of blank lines). Raises
    ``ImportFileError`` when it cannot be read."""
    while True:
        lines.start_record()
        try:
            cells = next(reader)
        except StopIteration:
            return []
        except (csv.Error, RecordTooLong) as error:
            raise ImportFileError(
                _("the header line cannot be read (%(error)s).") % {"error": error or _("unclosed quote")},
                line=lines.first_line(),
            ) from error
        if any(cell.strip() for cell in cells):
            return cells


def data_records(reader, lines: NumberedLines, width: int, multiline: set[int],
                 report: ImportReport) -> Iterator[tuple[int, list[str]]]:
    """(first line number, cells) of each well-formed data record; broken ones are reported
    (and counted as rows skipped) and the lines after their first are read again.
    ``multiline``: the indexes of the columns whose values may hold line breaks."""
    while True:
        lines.start_record()
        try:
            cells = next(reader)
        except StopIteration:
            return
        except (csv.Error, RecordTooLong) as error:
            report.rows += 1
            report.skipped += 1
            reason = _("an unclosed quote?") if isinstance(error, RecordTooLong) else str(error)
            report.add_error(lines.first_line(), _("This line cannot be read (%(reason)s).") % {"reason": reason})
            lines.retry_after_first()
            continue
        record = lines.record
        if not any(cell.strip() for cell in cells):
            continue
        line = record[0][0] if record else 0
        if any(bad for _no, _text, bad in record):
            report.rows += 1
            report.skipped += 1
            report.add_error(line, _("This line is not UTF-8 text: save the file as “CSV UTF-8”."))
            if len(record) > 1:
                lines.retry_after_first()
            continue
        if len(cells) != width and not (len(cells) > width and not any(c.strip() for c in cells[width:])):
            message = _("This row has %(found)s columns; the header has %(expected)s.") % {
                "found": len(cells), "expected": width}
        elif len(record) > 1 and any(
            "\n" in cell or "\r" in cell for index, cell in enumerate(cells) if index not in multiline
        ):
            # Only text properties may hold line breaks: elsewhere a quoted line break is a
            # quote left open, and the lines it swallowed are rows of their own.
            message = _("A line break inside a quoted value.")
        else:
            yield line, cells
            continue
        report.rows += 1
        report.skipped += 1
        if len(record) > 1:
            message += " " + _("(An unclosed quote? The next lines are read on their own.)")
            lines.retry_after_first()
        report.add_error(line, message)
