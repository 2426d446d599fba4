"""Importing contacts from CSV, optionally into a segment.

``import_contacts(file_or_path, segment=...)`` reads a CSV file (UTF-8 with or without a BOM,
comma, semicolon or tab separated, detected from the header line) as a stream, ``chunk_size``
rows at a time, so memory stays flat however long the file is. Each chunk is one transaction
of set-based queries: one lookup of the chunk's emails, one ``bulk_create`` of the new
contacts, one ``bulk_update`` of the changed ones, the tags and companies they name, then the
segment memberships (``segments.manual.add_contacts``) and a re-evaluation of the dynamic
segments for the contacts that changed.

Columns are matched by header, case-insensitively: the contact fields ``email``,
``first_name``, ``last_name``, ``phone``, ``company``, ``country``, ``tags`` and ``points``
(spaces and hyphens count as underscores, so "First name" works; the aliases of the form
field mapping setting work too), then the keys and labels of declared contact properties.
``mapping`` overrides that per header.

A row with a problem (bad or missing email, a value that is not of its property's type, a
wrong number of columns, text that is not UTF-8) is reported with its line number and skipped;
every other row is imported. A column that matches nothing is reported once and ignored.
"""

from __future__ import annotations

import csv
import os
import re
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any, Callable, Iterable, Iterator

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from wagtail_segments.conf import settings as conf
from wagtail_segments.contacts.models import (
    Company,
    Contact,
    ContactTag,
    PropertyDefinition,
    TaggedContact,
    normalise_email,
)
from wagtail_segments.contacts.properties import PropertyValueError, normalise_property, parse_number

from .manual import add_contacts
from .models import Membership, Segment

CHUNK_SIZE = 2_000
MAX_MESSAGES = 1_000  # errors and warnings kept in a report; the counts stay exact
MAX_RECORD_LINES = 100  # a record spanning more physical lines is taken for an unclosed quote
READ_SIZE = 64 * 1024
CACHE_LIMIT = 100_000  # company and tag ids remembered between chunks

FIELDS = ("email", "first_name", "last_name", "phone", "company", "country", "tags", "points")
TEXT_FIELDS = ("first_name", "last_name", "phone")
PROPERTY_PREFIX = "properties."
# Header aliases besides the field names and the FORM_FIELD_MAPPING setting's keys.
ALIASES = {
    "e_mail": "email",
    "email_address": "email",
    "e_mail_address": "email",
    "tag": "tags",
    "country_code": "country",
    "company_name": "company",
}
# Columns that export_members() writes and an import of that file ignores quietly.
EXPORT_ONLY_COLUMNS = {"membership_source", "membership_added_at"}
# A leading apostrophe that exports add against formula injection; an import takes it off.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TAG_SEPARATORS = re.compile(r"[,;|]")
COUNTRY = re.compile(r"^[A-Za-z]{2}$")
INT_RANGE = (-2_147_483_648, 2_147_483_647)
_LINE_STR = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)")
_LINE_BYTES = re.compile(rb"[^\r\n]*(?:\r\n|\r|\n)")
_QUOTED = re.compile(r'"[^"]*"')


# ---------------------------------------------------------------------------------------------
# The report


@dataclass
class ImportReport:
    """What an import did. ``rows`` = created + updated + unchanged + duplicates + skipped."""

    rows: int = 0  # data rows read (blank lines are not rows)
    created: int = 0  # new contacts
    updated: int = 0  # contacts that existed before the import and were changed
    unchanged: int = 0  # contacts that existed and had nothing new (or update_existing=False)
    duplicates: int = 0  # rows whose email an earlier row of the file already had
    skipped: int = 0  # rows not imported because of an error
    added_to_segment: int = 0  # contacts that were not members of the segment before
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line, message); line 1 = header
    warnings: list[tuple[int, str]] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)  # mapped to None, or export-only
    columns: dict[str, str] = field(default_factory=dict)  # header -> target
    segment: str | None = None  # the segment's slug
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

    def as_text(self) -> str:
        lines = []
        if self.dry_run:
            lines.append(_("Dry run: nothing was saved."))
        if self.fatal:
            lines.append(_("Nothing was imported: %(reason)s") % {"reason": self.fatal})
        else:
            lines.append(
                _("%(rows)s rows read: %(created)s contacts created, %(updated)s updated, "
                  "%(unchanged)s unchanged, %(duplicates)s duplicate rows merged, "
                  "%(skipped)s rows skipped for errors.")
                % {"rows": self.rows, "created": self.created, "updated": self.updated,
                   "unchanged": self.unchanged, "duplicates": self.duplicates, "skipped": self.skipped}
            )
            if self.segment:
                lines.append(
                    ngettext(
                        "%(count)s contact added to segment “%(segment)s”.",
                        "%(count)s contacts added to segment “%(segment)s”.",
                        self.added_to_segment,
                    ) % {"count": self.added_to_segment, "segment": self.segment}
                )
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


class ImportFileError(Exception):
    """The file cannot be read at all."""


# ---------------------------------------------------------------------------------------------
# Reading: physical lines -> records, with line numbers


@contextmanager
def _opened(file_or_path):
    if isinstance(file_or_path, (str, os.PathLike)):
        with open(file_or_path, "rb") as handle:
            yield handle
    else:
        yield file_or_path


def _split_lines(first, read: Callable[[], Any]) -> Iterator:
    """Lines with their endings (\\r\\n, \\n or \\r), from chunks of str or bytes."""
    pattern, cr = (_LINE_BYTES, b"\r") if isinstance(first, bytes) else (_LINE_STR, "\r")
    pending = first[:0]
    chunk = first
    while chunk:
        data = pending + chunk if pending else chunk
        position = 0
        for match in pattern.finditer(data):
            if match.end() == len(data) and data.endswith(cr):
                break  # maybe the first half of a \r\n split between chunks
            yield match.group()
            position = match.end()
        pending = data[position:]
        chunk = read()
    if pending:
        yield pending


def _decoded_lines(handle) -> Iterator[tuple[str, bool]]:
    """(text, undecodable) for each physical line; the BOM is dropped."""
    read = lambda: handle.read(READ_SIZE)  # noqa: E731
    first = read()
    if isinstance(first, bytes):
        if first.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise ImportFileError(_("the file is UTF-16 text: save it as “CSV UTF-8”."))
        if first.startswith(b"\xef\xbb\xbf"):
            first = first[3:]
        for line in _split_lines(first, read):
            try:
                yield line.decode("utf-8"), False
            except UnicodeDecodeError:
                yield line.decode("utf-8", errors="replace"), True
    else:
        if first.startswith("\ufeff"):
            first = first[1:]
        for line in _split_lines(first, read):
            yield line, False


class _RecordTooLong(Exception):
    pass


class _Lines:
    """The physical lines fed to ``csv.reader``, numbered, remembering those of the current
    record so that a broken record can be reported and its later lines read again."""

    def __init__(self, source: Iterator[tuple[str, bool]]):
        self._source = source
        self._pushback: deque = deque()
        self._count = 0
        self.record: list[tuple[int, str, bool]] = []

    def __iter__(self):
        return self

    def __next__(self) -> str:
        if self._pushback:
            item = self._pushback.popleft()
        else:
            text, bad = next(self._source)
            self._count += 1
            item = (self._count, text, bad)
        self.record.append(item)
        if len(self.record) > MAX_RECORD_LINES:
            raise _RecordTooLong
        return item[1]

    def start_record(self) -> None:
        self.record = []

    def first_line(self) -> int:
        return self.record[0][0] if self.record else self._count

    def retry_after_first(self) -> None:
        """Give back all but the first line of the current record, to be read again."""
        self._pushback.extendleft(reversed(self.record[1:]))
        self.record = []

    def peek_line(self) -> str | None:
        """The next non-blank line, left to be read again."""
        peeked = []
        try:
            while True:
                text, bad = next(self._source)
                self._count += 1
                peeked.append((self._count, text, bad))
                if text.strip():
                    return text
        except StopIteration:
            return None
        finally:
            self._pushback.extend(peeked)


def sniff_delimiter(header_line: str) -> str:
    """Comma, semicolon or tab: whichever the header line has most of outside quotes."""
    bare = _QUOTED.sub("", header_line)
    counts = {delimiter: bare.count(delimiter) for delimiter in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


# ---------------------------------------------------------------------------------------------
# Columns


def _header_key(text: str) -> str:
    return " ".join(str(text).split()).casefold()


def _canonical(text: str) -> str:
    return re.sub(r"[\s\-]+", "_", _header_key(text))


def _check_target(target: str | None, declared: dict[str, str]) -> str | None:
    """A mapping target in its stored form: a field name, "properties.<key>", or None."""
    if target is None:
        return None
    target = str(target).strip()
    if not target or target.casefold() in ("ignore", "none", "-"):
        return None
    if target.casefold() in FIELDS:
        return target.casefold()
    if target.casefold().startswith(PROPERTY_PREFIX):
        key = target[len(PROPERTY_PREFIX):].strip()
        if key:
            return PROPERTY_PREFIX + declared.get(key.casefold(), key)
    raise ValueError(
        _("Unknown import target “%(target)s”: use one of %(fields)s, “properties.<key>” or nothing to ignore the column.")
        % {"target": target, "fields": ", ".join(FIELDS)}
    )


def normalise_mapping(mapping: dict[str, str | None] | None) -> dict[str, str | None]:
    """``mapping`` keyed by normalised header, targets checked; raises ValueError for a bad target."""
    declared = {key.casefold(): key for key in PropertyDefinition.objects.values_list("key", flat=True)}
    return {_header_key(header): _check_target(target, declared) for header, target in (mapping or {}).items()}


@dataclass
class _Column:
    index: int
    header: str
    target: str


def _resolve_columns(headers: list[str], mapping: dict[str, str | None], report: ImportReport) -> list[_Column]:
    definitions = list(PropertyDefinition.objects.values_list("key", "label"))
    by_key = {key.casefold(): key for key, _label in definitions}
    by_label = {_header_key(label): key for key, label in definitions if label}
    aliases = {_canonical(name): target for name, target in (conf.FORM_FIELD_MAPPING or {}).items()
               if target in FIELDS}
    aliases.update(ALIASES)
    columns: list[_Column] = []
    used: dict[str, str] = {}
    mapped_headers = set()
    for index, raw in enumerate(headers):
        header = raw.strip()
        key = _header_key(header)
        if key in mapping:
            mapped_headers.add(key)
            target = mapping[key]
            if target is None:
                report.ignored_columns.append(header)
                continue
        elif not key:
            report.add_warning(1, _("Column %(number)s has no header: ignored.") % {"number": index + 1})
            continue
        else:
            canonical = _canonical(header)
            if canonical in FIELDS:
                target = canonical
            elif canonical in aliases:
                target = aliases[canonical]
            elif key.startswith(PROPERTY_PREFIX) and key[len(PROPERTY_PREFIX):].strip():
                name = header[len(PROPERTY_PREFIX):].strip()
                target = PROPERTY_PREFIX + by_key.get(name.casefold(), name)
            elif canonical in by_key or key in by_key:
                target = PROPERTY_PREFIX + by_key.get(canonical, by_key.get(key))
            elif key in by_label:
                target = PROPERTY_PREFIX + by_label[key]
            elif canonical in EXPORT_ONLY_COLUMNS:
                report.ignored_columns.append(header)
                continue
            else:
                report.unknown_columns.append(header)
                report.add_error(1, _(
                    "Unknown column “%(header)s”: ignored. Map it to a field or a property, or "
                    "declare a contact property with this key."
                ) % {"header": header})
                continue
        if target in used and target != "tags":
            report.add_warning(1, _("Column “%(header)s” is ignored: column “%(other)s” already gives %(target)s.")
                               % {"header": header, "other": used[target], "target": target})
            report.ignored_columns.append(header)
            continue
        used.setdefault(target, header)
        report.columns[header] = target
        columns.append(_Column(index, header, target))
    for key in mapping:
        if key not in mapped_headers:
            report.add_warning(1, _("The mapping names the column “%(header)s”, which the file does not have.")
                               % {"header": key})
    return columns


# ---------------------------------------------------------------------------------------------
# Rows


class _Row:
    __slots__ = ("line", "email", "key", "fields", "company", "properties", "tags")

    def __init__(self, line: int):
        self.line = line
        self.email = ""
        self.key = ""
        self.fields: dict[str, Any] = {}
        self.company = ""
        self.properties: dict[str, Any] = {}
        self.tags: list[str] = []

    def absorb(self, later: "_Row") -> None:
        """A later row with the same email: its non-blank values win, tags add up."""
        self.email = later.email
        self.fields.update(later.fields)
        self.company = later.company or self.company
        self.properties.update(later.properties)
        have = {tag.casefold() for tag in self.tags}
        self.tags.extend(tag for tag in later.tags if tag.casefold() not in have)


def _unguard(value: str) -> str:
    if len(value) > 1 and value[0] == "'" and value[1] in FORMULA_STARTS:
        return value[1:]
    return value


def _max_length(name: str) -> int:
    return Contact._meta.get_field(name).max_length


def _parse_row(line: int, cells: list[str], columns: list[_Column], types: dict[str, str]) -> tuple[_Row, list[str]]:
    row = _Row(line)
    problems: list[str] = []
    email_given = False
    for column in columns:
        raw = cells[column.index] if column.index < len(cells) else ""
        value = _unguard(raw.strip())
        if not value:
            continue
        target = column.target
        label = column.header
        if target == "email":
            email_given = True
            try:
                validate_email(value)
                if len(value) > _max_length("email"):
                    raise ValidationError("too long")
            except ValidationError:
                problems.append(_("“%(value)s” is not a valid email address.") % {"value": value})
            else:
                row.email, row.key = value, normalise_email(value)
        elif target in TEXT_FIELDS:
            limit = _max_length(target)
            if len(value) > limit:
                problems.append(_("“%(column)s” is longer than %(limit)s characters.") % {"column": label, "limit": limit})
            else:
                row.fields[target] = value
        elif target == "company":
            if len(value) > Company._meta.get_field("name").max_length:
                problems.append(_("“%(column)s” is longer than %(limit)s characters.")
                                % {"column": label, "limit": Company._meta.get_field("name").max_length})
            else:
                row.company = value
        elif target == "country":
            if COUNTRY.match(value):
                row.fields["country"] = value.upper()
            else:
                problems.append(_("“%(value)s” is not a two-letter country code.") % {"value": value})
        elif target == "points":
            try:
                number = parse_number(value)
                if number != int(number) or not INT_RANGE[0] <= number <= INT_RANGE[1]:
                    raise PropertyValueError
            except (PropertyValueError, OverflowError, ValueError):
                problems.append(_("“%(column)s”: “%(value)s” is not a whole number.") % {"column": label, "value": value})
            else:
                row.fields["points"] = int(number)
        elif target == "tags":
            for name in TAG_SEPARATORS.split(value):
                name = name.strip()
                if not name:
                    continue
                if len(name) > ContactTag._meta.get_field("name").max_length:
                    problems.append(_("The tag “%(tag)s…” is longer than %(limit)s characters.")
                                    % {"tag": name[:20], "limit": ContactTag._meta.get_field("name").max_length})
                elif name.casefold() not in {tag.casefold() for tag in row.tags}:
                    row.tags.append(name)
        else:
            key = target[len(PROPERTY_PREFIX):]
            if key in types:
                try:
                    typed = normalise_property(key, value, types)
                except PropertyValueError as error:
                    problems.append(f"“{label}”: {error}")
                    continue
                if typed is not None:
                    row.properties[key] = typed
            else:
                row.properties[key] = value
    if not row.key and not email_given:
        problems.insert(0, _("No email."))
    return row, problems


# ---------------------------------------------------------------------------------------------
# Writing: one chunk at a time


class _IdSet:
    """Contact ids seen during the import: a bitmap, so a million ids cost about 125 kB."""

    BITMAP_LIMIT = 1 << 28

    def __init__(self):
        self._bits = bytearray()
        self._large: set[int] = set()

    def add(self, pk: int) -> None:
        if pk >= self.BITMAP_LIMIT:
            self._large.add(pk)
            return
        byte = pk >> 3
        if byte >= len(self._bits):
            self._bits.extend(bytes(max(byte + 1 - len(self._bits), len(self._bits))))
        self._bits[byte] |= 1 << (pk & 7)

    def __contains__(self, pk: int) -> bool:
        if pk >= self.BITMAP_LIMIT:
            return pk in self._large
        byte = pk >> 3
        return byte < len(self._bits) and bool(self._bits[byte] & (1 << (pk & 7)))


@dataclass
class _ChunkResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    skipped: int = 0
    added: int = 0
    errors: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    seen: list = field(default_factory=list)
    created_ids: list = field(default_factory=list)


class _DryRun(Exception):
    def __init__(self, result: _ChunkResult):
        self.result = result


CONTACT_COLUMNS = ("pk", "email_key", "merged_into", "first_name", "last_name", "phone",
                   "country", "points", "company", "properties")


class _Writer:
    def __init__(self, segment: Segment | None, source: str, update_existing: bool, dry_run: bool,
                 report: ImportReport):
        self.segment = segment
        self.source = source
        self.update_existing = update_existing
        self.dry_run = dry_run
        self.report = report
        self.seen = _IdSet()  # contacts an earlier row of the file named
        self.created = _IdSet()  # contacts this import created
        self.companies: dict[str, int] = {}
        self.tags: dict[str, int] = {}

    def write(self, rows: list[_Row]) -> None:
        unique: dict[str, _Row] = {}
        duplicate_warnings = []
        for row in rows:
            earlier = unique.get(row.key)
            if earlier is None:
                unique[row.key] = row
            else:
                earlier.absorb(row)
                duplicate_warnings.append((row.line, _(
                    "Same email as line %(line)s: the rows are merged, later non-blank values win."
                ) % {"line": earlier.line}))
        attempts = 3
        for attempt in range(attempts):
            try:
                result = self._write(list(unique.values()))
            except _DryRun as rolled_back:
                result = rolled_back.result
                self.companies.clear()
                self.tags.clear()
            except IntegrityError:
                # Someone created one of these contacts, companies or tags meanwhile: read again.
                self.companies.clear()
                self.tags.clear()
                if attempt == attempts - 1:
                    raise
                continue
            break
        report = self.report
        for pk in result.seen:
            self.seen.add(pk)
        for pk in result.created_ids:
            self.created.add(pk)
        report.created += result.created
        report.updated += result.updated
        report.unchanged += result.unchanged
        report.duplicates += result.duplicates + len(duplicate_warnings)
        report.skipped += result.skipped
        report.added_to_segment += result.added
        for line, message in sorted(result.errors):
            report.add_error(line, message)
        for line, message in sorted(duplicate_warnings + result.warnings):
            report.add_warning(line, message)

    def _write(self, rows: list[_Row]) -> _ChunkResult:
        from .receivers import mark_contacts_changed

        result = _ChunkResult()
        with transaction.atomic():
            found = {
                contact.email_key: contact
                for contact in Contact.objects.select_for_update()
                .filter(email_key__in=[row.key for row in rows]).order_by("pk").only(*CONTACT_COLUMNS)
            }
            new_rows: list[_Row] = []
            existing: list[tuple[_Row, Contact]] = []
            for row in rows:
                contact = found.get(row.key)
                if contact is None:
                    new_rows.append(row)
                elif contact.merged_into_id:
                    result.skipped += 1
                    result.errors.append((row.line, _("The contact with this email was merged into another one.")))
                else:
                    existing.append((row, contact))
            writable = [(row, contact) for row, contact in existing
                        if self.update_existing or contact.pk in self.created]

            named = [*new_rows, *(row for row, _contact in writable)]
            company_ids = self._company_ids([row.company for row in named if row.company])
            tag_ids = self._tag_ids([tag for row in named for tag in row.tags])

            # New contacts. bulk_create skips Contact.save(): the email key is set here.
            contacts = [
                Contact(
                    email=row.email, email_key=row.key, last_seen=None, **row.fields,
                    company_id=company_ids[row.company.casefold()] if row.company else None,
                    properties=dict(row.properties),
                )
                for row in new_rows
            ]
            Contact.objects.bulk_create(contacts)
            if contacts and contacts[0].pk is None:  # a database that returns no ids
                ids = dict(Contact.objects.filter(email_key__in=[c.email_key for c in contacts]).values_list("email_key", "pk"))
                for contact in contacts:
                    contact.pk = ids[contact.email_key]
            result.created = len(contacts)
            result.created_ids = [contact.pk for contact in contacts]

            # Existing contacts: non-blank cells fill or replace, blank cells never erase.
            changed: list[Contact] = []
            changed_fields: set[str] = set()
            for row, contact in writable:
                fields = self._apply(row, contact, company_ids)
                if fields:
                    changed.append(contact)
                    changed_fields |= fields
            if changed:
                Contact.objects.bulk_update(changed, sorted(changed_fields), batch_size=500)

            # Tags: added, never removed.
            pairs = {(contact.pk, tag_ids[tag.casefold()]) for contact, row in zip(contacts, new_rows) for tag in row.tags}
            existing_pairs = {(contact.pk, tag_ids[tag.casefold()]) for row, contact in writable for tag in row.tags}
            if existing_pairs:
                have = set(
                    TaggedContact.objects.filter(
                        content_object_id__in={pk for pk, _tag in existing_pairs},
                        tag_id__in={tag for _pk, tag in existing_pairs},
                    ).values_list("content_object_id", "tag_id")
                )
                pairs |= existing_pairs - have
            TaggedContact.objects.bulk_create(
                [TaggedContact(content_object_id=pk, tag_id=tag) for pk, tag in sorted(pairs)],
                ignore_conflicts=True,
            )
            tagged = {pk for pk, _tag in pairs}

            # Counting: each contact that existed before the import is counted once.
            changed_ids = {contact.pk for contact in changed}
            for row, contact in existing:
                if contact.pk in self.seen:
                    result.duplicates += 1
                    result.warnings.append((row.line, _(
                        "Same email as an earlier line: the rows are merged, later non-blank values win."
                    )))
                elif contact.pk in changed_ids or contact.pk in tagged:
                    result.updated += 1
                else:
                    result.unchanged += 1
            live_ids = [contact.pk for contact in contacts] + [contact.pk for _row, contact in existing]
            result.seen = live_ids

            if self.segment is not None and live_ids:
                result.added = add_contacts(self.segment, live_ids, source=self.source)

            if self.dry_run:
                raise _DryRun(result)
            # bulk writes send no signals: tell the dynamic segments what changed.
            touched = sorted(changed_ids | set(result.created_ids))
            if touched:
                mark_contacts_changed(touched, "contact")
            if tagged:
                mark_contacts_changed(sorted(tagged), "tags")
        return result

    @staticmethod
    def _apply(row: _Row, contact: Contact, company_ids: dict[str, int]) -> set[str]:
        fields = set()
        for name, value in row.fields.items():
            if getattr(contact, name) != value:
                setattr(contact, name, value)
                fields.add(name)
        if row.company:
            company_id = company_ids[row.company.casefold()]
            if contact.company_id != company_id:
                contact.company_id = company_id
                fields.add("company")
        if row.properties:
            current = contact.properties if isinstance(contact.properties, dict) else {}
            merged = {**current, **row.properties}
            if merged != current:
                contact.properties = merged
                fields.add("properties")
        return fields

    def _company_ids(self, names: list[str]) -> dict[str, int]:
        """Company ids by case-folded name; a company named in the file is created if missing
        (spelt as it is first written in the chunk)."""
        wanted: dict[str, str] = {}
        for name in names:
            if name.casefold() not in self.companies:
                wanted.setdefault(name.casefold(), name)
        if not wanted:
            return self.companies
        if len(self.companies) > CACHE_LIMIT:
            self.companies.clear()
            return self._company_ids(names)
        originals = list(wanted.values())

        def lookup(query: Q) -> None:
            for pk, name in Company.objects.filter(query).order_by("pk").values_list("pk", "name"):
                self.companies.setdefault(name.casefold(), pk)

        lookup(Q(pk__in=Company.objects.annotate(lower=Lower("name"))
                 .filter(lower__in=[name.lower() for name in originals]).values("pk"))
               | Q(name__in=originals))
        missing = [name for key, name in wanted.items() if key not in self.companies]
        if missing:
            Company.objects.bulk_create([Company(name=name) for name in missing])
            lookup(Q(name__in=missing))
        return self.companies

    def _tag_ids(self, names: list[str]) -> dict[str, int]:
        """Tag ids by case-folded name; existing tags are matched case-insensitively."""
        wanted: dict[str, str] = {}
        for name in names:
            if name.casefold() not in self.tags:
                wanted.setdefault(name.casefold(), name)
        if not wanted:
            return self.tags
        if len(self.tags) > CACHE_LIMIT:
            self.tags.clear()
            return self._tag_ids(names)
        originals = list(wanted.values())
        query = Q(pk__in=ContactTag.objects.annotate(lower=Lower("name"))
                  .filter(lower__in=[name.lower() for name in originals]).values("pk")) | Q(name__in=originals)
        for pk, name in ContactTag.objects.filter(query).order_by("pk").values_list("pk", "name"):
            self.tags.setdefault(name.casefold(), pk)
        for key, name in wanted.items():
            if key in self.tags:
                continue
            try:
                with transaction.atomic():
                    tag = ContactTag.objects.create(name=name)  # TagBase.save() makes a unique slug
            except IntegrityError:
                tag = ContactTag.objects.get(name=name)
            self.tags[key] = tag.pk
        return self.tags


# ---------------------------------------------------------------------------------------------
# The entry point


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
) -> ImportReport:
    """Create or update contacts from a CSV file, deduplicated by email, and add them to
    ``segment`` (a Segment or its slug) as sticky members with ``source``.

    ``file_or_path``: a path, or an open file in binary (preferred; an upload works) or text mode.
    ``mapping``: CSV header -> "email", "first_name", "last_name", "phone", "company",
    "country", "tags", "points", "properties.<key>", or None to ignore the column.
    ``update_existing``: when False, contacts that already exist are only added to the segment.
    ``dry_run``: read and check everything, write nothing (each chunk is rolled back).
    ``progress``: called with the report after each chunk.
    """
    if source not in Membership.Source.values:
        raise ValueError(f"Unknown membership source {source!r}.")
    if isinstance(segment, str):
        segment = Segment.objects.get(slug=segment)
    normalised = normalise_mapping(mapping)
    report = ImportReport(segment=segment.slug if segment is not None else None, dry_run=dry_run)
    types = dict(PropertyDefinition.objects.values_list("key", "type"))
    with _opened(file_or_path) as handle:
        try:
            lines = _Lines(_decoded_lines(handle))
            header_line = lines.peek_line()
        except ImportFileError as error:
            report.fatal = str(error)
            report.add_error(1, report.fatal)
            return report
        if header_line is None:
            report.fatal = _("the file is empty.")
            report.add_error(1, report.fatal)
            return report
        reader = csv.reader(lines, delimiter=delimiter or sniff_delimiter(header_line))
        headers = None
        while headers is None:
            lines.start_record()
            try:
                cells = next(reader)
            except StopIteration:
                break
            except (csv.Error, _RecordTooLong) as error:
                report.fatal = _("the header line cannot be read (%(error)s).") % {"error": error or _("unclosed quote")}
                report.add_error(lines.first_line(), report.fatal)
                return report
            if any(cell.strip() for cell in cells):
                headers = cells
        columns = _resolve_columns(headers or [], normalised, report)
        if not any(column.target == "email" for column in columns):
            report.fatal = _("the file has no email column (the header line must name one, or map one).")
            report.add_error(1, report.fatal)
            return report

        writer = _Writer(segment, source, update_existing, dry_run, report)
        chunk: list[_Row] = []
        width = len(headers)
        multiline = {column.index for column in columns if column.target.startswith(PROPERTY_PREFIX)}
        for line, cells in _records(reader, lines, width, multiline, report):
            report.rows += 1
            row, problems = _parse_row(line, cells, columns, types)
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


def _records(reader, lines: _Lines, width: int, multiline: set[int],
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
        except (csv.Error, _RecordTooLong) as error:
            report.rows += 1
            report.skipped += 1
            reason = _("an unclosed quote?") if isinstance(error, _RecordTooLong) else str(error)
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


# ---------------------------------------------------------------------------------------------
# Adding and removing by email (the management commands and the API use these)


def contacts_by_email(emails: Iterable[str]) -> tuple[list[int], list[str]]:
    """The ids of the live contacts with these emails, and the emails no contact has."""
    keys: dict[str, str] = {}
    for email in emails:
        key = normalise_email(email)
        if key:
            keys.setdefault(key, email.strip())
    found: dict[str, int] = {}
    key_list = list(keys)
    for start in range(0, len(key_list), CHUNK_SIZE):
        found.update(
            Contact.objects.live().filter(email_key__in=key_list[start:start + CHUNK_SIZE]).values_list("email_key", "pk")
        )
    return [found[key] for key in key_list if key in found], [keys[key] for key in key_list if key not in found]
