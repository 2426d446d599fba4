"""Writing imported rows as contacts, one chunk per transaction, set-based.

Each chunk is one lookup of its emails (locked), one ``bulk_create`` of the new contacts, one
``bulk_update`` of the changed ones, and the companies and tags they name. Bulk writes send no
``post_save`` or ``m2m_changed``, so each chunk sends ``contacts_imported`` instead, inside its
transaction (not in a dry run): the segments engine re-evaluates those contacts after commit;
and the tags it gave are announced as ``m2m_changed``, one signal per tag (``contacts.tagging``),
so that campaigns act on them as on tags added by hand. A package above contacts that does more
with each chunk (segments: add the contacts to a segment) passes ``after_chunk``, which runs
inside the chunk's transaction, so that a dry run rolls it back with the rest.
"""

from __future__ import annotations

from typing import Callable

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from wagtail_segments.contacts.models import Company, Contact, ContactTag, TaggedContact
from wagtail_segments.contacts.phone import phone_e164
from wagtail_segments.contacts.tagging import announce_pairs_added
from wagtail_segments.signals import contacts_imported

from .id_bitmap import IdBitmap
from .report import ChunkResult, ImportReport
from .rows import Row

CACHE_LIMIT = 100_000  # company and tag ids remembered between chunks
CONTACT_COLUMNS = ("pk", "email_key", "merged_into", "first_name", "last_name", "phone", "phone_e164",
                   "country", "points", "company", "properties")
ATTEMPTS = 3  # a chunk that meets a contact, company or tag created meanwhile is read again


class _DryRun(Exception):
    """Rolls a chunk's transaction back, carrying what it would have done."""

    def __init__(self, result: ChunkResult):
        self.result = result


class ContactWriter:
    """Writes chunks of rows as contacts and counts what it did into ``report``.

    ``after_chunk(contact_ids) -> int`` is called inside each chunk's transaction with the ids
    of the chunk's live contacts (created or named by a row); what it returns is the chunk's
    ``added`` count.
    """

    def __init__(self, report: ImportReport, *, update_existing: bool = True, dry_run: bool = False,
                 after_chunk: Callable[[list[int]], int] | None = None):
        self.report = report
        self.update_existing = update_existing
        self.dry_run = dry_run
        self.after_chunk = after_chunk
        self.seen = IdBitmap()  # contacts an earlier row of the file named
        self.created = IdBitmap()  # contacts this import created
        self.companies: dict[str, int] = {}
        self.tags: dict[str, int] = {}

    def write(self, rows: list[Row]) -> None:
        unique: dict[str, Row] = {}
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
        for attempt in range(ATTEMPTS):
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
                if attempt == ATTEMPTS - 1:
                    raise
                continue
            break
        for pk in result.seen:
            self.seen.add(pk)
        for pk in result.created_ids:
            self.created.add(pk)
        result.duplicates += len(duplicate_warnings)
        result.warnings = duplicate_warnings + result.warnings
        self.report.add_chunk(result)

    def _write(self, rows: list[Row]) -> ChunkResult:
        result = ChunkResult()
        with transaction.atomic():
            found = {
                contact.email_key: contact
                for contact in Contact.objects.select_for_update()
                .filter(email_key__in=[row.key for row in rows]).order_by("pk").only(*CONTACT_COLUMNS)
            }
            new_rows: list[Row] = []
            existing: list[tuple[Row, Contact]] = []
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

            # New contacts. bulk_create skips Contact.save(): the email key and E.164 phone are set here.
            contacts = [
                Contact(
                    email=row.email, email_key=row.key, last_seen=None, **row.fields,
                    phone_e164=phone_e164(row.fields.get("phone", "")),
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

            if self.after_chunk is not None and live_ids:
                result.added = self.after_chunk(live_ids)

            if self.dry_run:
                raise _DryRun(result)
            changed_ids |= set(result.created_ids)
            if changed_ids or tagged:
                contacts_imported.send(
                    sender=Contact, changed_ids=sorted(changed_ids), tagged_ids=sorted(tagged),
                )
            # The tags given, one signal per tag for the chunk: campaigns entered by a tag and
            # decisions waiting for one hear of them as of a tag added by hand.
            announce_pairs_added(pairs)
        return result

    @staticmethod
    def _apply(row: Row, contact: Contact, company_ids: dict[str, int]) -> set[str]:
        """Set the row's values on ``contact``; the names of the fields that changed."""
        fields = set()
        for name, value in row.fields.items():
            if getattr(contact, name) != value:
                setattr(contact, name, value)
                fields.add(name)
        if "phone" in fields:  # bulk_update skips Contact.save() too
            contact.phone_e164 = phone_e164(contact.phone)
            fields.add("phone_e164")
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
