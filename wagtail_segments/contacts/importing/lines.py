"""A CSV file's physical lines, numbered, for ``csv.reader``.

The file is read as a stream of ``READ_SIZE`` chunks, so memory stays flat however long it is.
Bytes are decoded line by line: a line that is not UTF-8 is marked and reported alone rather
than failing the file. The lines of the record being read are remembered, so that a broken
record (an unclosed quote swallowing the rows after it) can be reported by its first line and
the lines after it read again as records of their own.
"""

from __future__ import annotations

import os
import re
from collections import deque
from contextlib import contextmanager
from typing import IO, Any, Callable, Iterator

from django.utils.translation import gettext as _

MAX_RECORD_LINES = 100  # a record spanning more physical lines is taken for an unclosed quote
READ_SIZE = 64 * 1024
_LINE_STR = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)")
_LINE_BYTES = re.compile(rb"[^\r\n]*(?:\r\n|\r|\n)")
_QUOTED = re.compile(r'"[^"]*"')


class ImportFileError(Exception):
    """The file cannot be read at all; ``line`` is where that showed."""

    def __init__(self, message: str, line: int = 1):
        super().__init__(message)
        self.line = line


class RecordTooLong(Exception):
    """A record ran over ``MAX_RECORD_LINES`` physical lines: a quote left open."""


@contextmanager
def opened(file_or_path: str | os.PathLike | IO) -> Iterator[IO]:
    """A path opened in binary mode (and closed after), or an open file as it is."""
    if isinstance(file_or_path, (str, os.PathLike)):
        with open(file_or_path, "rb") as handle:
            yield handle
    else:
        yield file_or_path


def split_lines(first, read: Callable[[], Any]) -> Iterator:
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


def decoded_lines(handle: IO) -> Iterator[tuple[str, bool]]:
    """(text, undecodable) for each physical line; the BOM is dropped."""
    read = lambda: handle.read(READ_SIZE)  # noqa: E731
    first = read()
    if isinstance(first, bytes):
        if first.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise ImportFileError(_("the file is UTF-16 text: save it as “CSV UTF-8”."))
        if first.startswith(b"\xef\xbb\xbf"):
            first = first[3:]
        for line in split_lines(first, read):
            try:
                yield line.decode("utf-8"), False
            except UnicodeDecodeError:
                yield line.decode("utf-8", errors="replace"), True
    else:
        if first.startswith("\ufeff"):
            first = first[1:]
        for line in split_lines(first, read):
            yield line, False


class NumberedLines:
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
            raise RecordTooLong
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
