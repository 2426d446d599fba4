"""A set of contact ids as a bitmap, so an import of a million rows remembers which contacts
it has seen in about 125 kB instead of a set of a million ints (tens of MB)."""

from __future__ import annotations


class IdBitmap:
    """Contact ids seen during an import. Ids beyond ``BITMAP_LIMIT`` (rare: a sequence
    started high) go to a plain set so that one huge id cannot allocate a huge bitmap."""

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
