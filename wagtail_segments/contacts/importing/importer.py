"""``import_contacts()``: create or update contacts from a CSV file, row errors reported.

The file (UTF-8 with or without a BOM; comma, semicolon or tab separated, detected from the
header line) is read as a stream, ``chunk_size`` rows at a time, so memory stays flat however
long it is: ``lines`` reads physical lines, ``records`` turns them into CSV records,
``columns`` matches the header, ``rows`` checks each record's values and ``writer`` writes
each chunk in one transaction.

A row with a problem (bad or missing email, a value that is not of its property's type, a
wrong number of columns, text that is not UTF-8) is reported with its line number and skipped;
every other row is imported. A column that matches nothing is reported once and ignored.
"""

from __future__ import annotations

import csv
import os
from typing import IO, Callable

from django.utils.translation import gettext as _

from wagtail_segments.contacts.models import PropertyDefinition

from .columns import PROPERTY_PREFIX, normalise_mapping, resolve_columns
from .lines import ImportFileError, NumberedLines, decoded_lines, opened, sniff_delimiter
from .records import data_records, read_header
from .report import ImportReport
from .rows import Row, parse_row
from .writer import ContactWriter

CHUNK_SIZE = 2_000


def import_contacts(
    file_or_path: str | os.PathLike | IO,
    *,
    mapping: dict[str, str | None] | None = None,
    update_existing: bool = True,
    dry_run: bool = False,
    delimiter: str | None = None,
    chunk_size: int = CHUNK_SIZE,
    progress: Callable[[ImportReport], None] | None = None,
    after_chunk: Callable[[list[int]], int] | None = None,
    report: ImportReport | None = None,
) -> ImportReport:
    """Create or update contacts from a CSV file, deduplicated by email.

    ``file_or_path``: a path, or an open file in binary (preferred; an upload works) or text mode.
    ``mapping``: CSV header -> "email", "first_name", "last_name", "phone", "company",
    "country", "tags", "points", "properties.<key>", or None to ignore the column.
    ``update_existing``: when False, contacts that already exist are left as they are.
    ``dry_run``: read and check everything, write nothing (each chunk is rolled back).
    ``progress``: called with the report after each chunk.
    ``after_chunk`` and ``report``: for a caller that does more with the contacts (see
    ``ContactWriter``; ``segments.importing`` adds them to a segment and reports that).
    Raises ValueError for a mapping to an unknown target.
    """
    normalised = normalise_mapping(mapping)
    if report is None:
        report = ImportReport()
    report.dry_run = dry_run
    types = dict(PropertyDefinition.objects.values_list("key", "type"))
    with opened(file_or_path) as handle:
        try:
            lines = NumberedLines(decoded_lines(handle))
            header_line = lines.peek_line()
            if header_line is None:
                raise ImportFileError(_("the file is empty."))
            reader = csv.reader(lines, delimiter=delimiter or sniff_delimiter(header_line))
            headers = read_header(reader, lines)
        except ImportFileError as error:
            report.fatal = str(error)
            report.add_error(error.line, report.fatal)
            return report
        columns = resolve_columns(headers, normalised, report)
        if not any(column.target == "email" for column in columns):
            report.fatal = _("the file has no email column (the header line must name one, or map one).")
            report.add_error(1, report.fatal)
            return report

        writer = ContactWriter(report, update_existing=update_existing, dry_run=dry_run, after_chunk=after_chunk)
        chunk: list[Row] = []
        multiline = {column.index for column in columns if column.target.startswith(PROPERTY_PREFIX)}
        for line, cells in data_records(reader, lines, len(headers), multiline, report):
            report.rows += 1
            row, problems = parse_row(line, cells, columns, types)
            if problems:
                report.skipped += 1
                report.add_error(line, " ".join(problems))
                continue
            chunk.append(row)
            if len(chunk) >= chunk_size:
                writer.write(chunk)
                chunk = []
                if progress:
                    progress(report)
        if chunk:
            writer.write(chunk)
        if progress:
            progress(report)
    return report
