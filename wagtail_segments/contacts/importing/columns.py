"""Which contact field or property each CSV column fills.

Columns are matched by header, case-insensitively: the contact fields ``FIELDS`` (spaces and
hyphens count as underscores, so "First name" works; ``ALIASES`` and the keys of the
``FORM_FIELD_MAPPING`` setting work too), then the keys and labels of declared contact
properties, then "properties.<key>" for any property. A mapping given by the caller overrides
that per header. A column that matches nothing is reported once and ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.translation import gettext as _

from wagtail_segments.conf import settings as conf
from wagtail_segments.contacts.models import PropertyDefinition

from .report import ImportReport

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
# Columns that a segment export writes and an import of that file ignores quietly.
EXPORT_ONLY_COLUMNS = {"membership_source", "membership_added_at"}


@dataclass
class Column:
    index: int
    header: str
    target: str  # a name of FIELDS, or "properties.<key>"


def header_key(text: str) -> str:
    """A header as compared: inner whitespace collapsed, case folded."""
    return " ".join(str(text).split()).casefold()


def canonical(text: str) -> str:
    """A header as a field name: spaces and hyphens as underscores."""
    return re.sub(r"[\s\-]+", "_", header_key(text))


def _checked_target(target: str | None, declared: dict[str, str]) -> str | None:
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
    return {header_key(header): _checked_target(target, declared) for header, target in (mapping or {}).items()}


def resolve_columns(headers: list[str], mapping: dict[str, str | None], report: ImportReport) -> list[Column]:
    """The columns that fill something, in file order; unknown, ignored and repeated columns
    and mapped headers the file lacks are reported. ``mapping`` as ``normalise_mapping`` returns it."""
    definitions = list(PropertyDefinition.objects.values_list("key", "label"))
    by_key = {key.casefold(): key for key, _label in definitions}
    by_label = {header_key(label): key for key, label in definitions if label}
    aliases = {canonical(name): target for name, target in (conf.FORM_FIELD_MAPPING or {}).items()
               if target in FIELDS}
    aliases.update(ALIASES)
    columns: list[Column] = []
    used: dict[str, str] = {}
    mapped_headers = set()
    for index, raw in enumerate(headers):
        header = raw.strip()
        key = header_key(header)
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
            name = canonical(header)
            if name in FIELDS:
                target = name
            elif name in aliases:
                target = aliases[name]
            elif key.startswith(PROPERTY_PREFIX) and key[len(PROPERTY_PREFIX):].strip():
                prop = header[len(PROPERTY_PREFIX):].strip()
                target = PROPERTY_PREFIX + by_key.get(prop.casefold(), prop)
            elif name in by_key or key in by_key:
                target = PROPERTY_PREFIX + by_key.get(name, by_key.get(key))
            elif key in by_label:
                target = PROPERTY_PREFIX + by_label[key]
            elif name in EXPORT_ONLY_COLUMNS:
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
        columns.append(Column(index, header, target))
    for key in mapping:
        if key not in mapped_headers:
            report.add_warning(1, _("The mapping names the column “%(header)s”, which the file does not have.")
                               % {"header": key})
    return columns
