"""Importing contacts from CSV files: the entry point is ``import_contacts()``.

Split by concern: ``lines`` (reading physical lines), ``records`` (CSV records, broken ones
reported), ``columns`` (header matching), ``rows`` (checking a record's values),
``id_bitmap`` (ids seen), ``writer`` (one chunk per transaction), ``report`` (what was done),
``importer`` (the loop that joins them). Adding the imported contacts to a segment is the
segments package's part: ``wagtail_segments.segments.importing.import_contacts``.
"""

from .columns import normalise_mapping
from .importer import CHUNK_SIZE, import_contacts
from .lines import ImportFileError, sniff_delimiter
from .report import ImportReport

__all__ = ["CHUNK_SIZE", "ImportFileError", "ImportReport", "import_contacts", "normalise_mapping", "sniff_delimiter"]
