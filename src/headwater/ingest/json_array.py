"""Stream the elements of a top-level JSON array without loading the document.

``json.JSONDecoder.raw_decode`` parses one element at a time from a sliding text buffer that is
refilled from the stream; consumed text is dropped, so memory is bounded by the largest element.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TextIO

from headwater.contracts.rules import MALFORMED, ContractViolation

_WHITESPACE = " \t\n\r"


class JsonArrayReader:
    def __init__(
        self, text: TextIO, *, chunk_chars: int = 1 << 20, max_element_chars: int = 16 << 20
    ) -> None:
        self._text = text
        self._chunk = chunk_chars
        self._max = max_element_chars
        self._decoder = json.JSONDecoder()
        self._buf = ""
        self._pos = 0
        self._eof = False
        self.saw_content = False

    def _fill(self) -> bool:
        if self._eof:
            return False
        data = self._text.read(self._chunk)
        if not data:
            self._eof = True
            return False
        self._buf = self._buf[self._pos :] + data
        self._pos = 0
        return True

    def _skip_ws(self) -> str:
        """Skip whitespace; return the next character ('' at the end of the stream)."""
        while True:
            while self._pos < len(self._buf) and self._buf[self._pos] in _WHITESPACE:
                self._pos += 1
            if self._pos < len(self._buf):
                self.saw_content = True
                return self._buf[self._pos]
            if not self._fill():
                return ""

    def __iter__(self) -> Iterator[object]:
        first = self._skip_ws()
        if first == "":
            return  # whitespace only: the caller reports an empty file
        if first != "[":
            raise ContractViolation(MALFORMED, "a JSON array ('[') was expected at the top level")
        self._pos += 1
        row = 0
        while True:
            nxt = self._skip_ws()
            if nxt == "]":
                self._pos += 1
                break
            if row:
                if nxt != ",":
                    raise self._malformed(f"expected ',' or ']' after element {row}", row + 1)
                self._pos += 1
                self._skip_ws()
            row += 1
            yield self._decode(row)
        if self._skip_ws() != "":
            raise self._malformed("unexpected data after the closing ']'", None)

    def _decode(self, row: int) -> object:
        while True:
            try:
                value, end = self._decoder.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError as exc:
                # Perhaps the element is only cut by the buffer's end: read more and retry,
                # up to a bound so one bad byte early in a large file fails fast.
                if len(self._buf) - self._pos < self._max and self._fill():
                    continue
                raise self._malformed(f"invalid JSON in element {row}: {exc.msg}", row) from None
            self._pos = end
            return value

    @staticmethod
    def _malformed(message: str, row: int | None) -> ContractViolation:
        return ContractViolation(MALFORMED, message, row=row)
