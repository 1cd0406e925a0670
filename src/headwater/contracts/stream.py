"""A pass-through reader that checks UTF-8 and counts bytes and lines as data streams by.

It wraps any binary ``read(n)`` source (an S3 StreamingBody or a local file) so the Arrow readers
see plain bytes while we detect, in bounded memory, what Arrow reports poorly: a zero-byte file
and non-UTF-8 text (with the line where it happens).
"""

from __future__ import annotations

import codecs
import io
import threading
from typing import Any, BinaryIO

from headwater.contracts.rules import ENCODING, MALFORMED, ContractViolation

# File name suffix -> Arrow codec of the compressed uploads read transparently.
COMPRESSION_SUFFIXES = {".gz": "gzip", ".zst": "zstd"}


class CheckedStream(io.RawIOBase):
    def __init__(self, raw: BinaryIO | Any, *, header_lines: int = 0) -> None:
        self._raw = raw
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._pushback = b""
        self._header_lines = header_lines
        self.bytes_read = 0
        self.newlines = 0
        # Set when a violation is found: Arrow may wrap or reorder exceptions raised from read().
        self.violation: ContractViolation | None = None
        # Read-ahead throttle (see throttle()).
        self._reads = 0
        self._consumed = 0
        self._max_ahead: int | None = None
        self._progress = threading.Condition()

    def throttle(self, max_ahead: int) -> None:
        """Let the reader run at most ``max_ahead`` reads ahead of consumed batches.

        Arrow's streaming readers prefetch dozens of blocks with no option to limit it; with large
        blocks that alone would cost hundreds of MB. The wait is bounded, so a reader that needs
        several blocks before it can emit a batch is slowed down, never deadlocked.
        """
        self._max_ahead = max_ahead

    def consumed(self) -> None:
        """The converter finished one batch (about one block of input)."""
        with self._progress:
            self._consumed += 1
            self._progress.notify_all()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self._pushback:
            data = self._pushback if size < 0 else self._pushback[:size]
            self._pushback = self._pushback[len(data) :]
            return data
        if self._max_ahead is not None:
            with self._progress:
                if self._reads - self._consumed >= self._max_ahead:
                    self._progress.wait(timeout=0.2)
                self._reads += 1
        try:
            data = self._read_raw(size)
        except ContractViolation as exc:  # e.g. a corrupt compressed stream (Decompressed)
            self.violation = exc
            raise
        self._check(data, final=not data)
        self.bytes_read += len(data)
        self.newlines += data.count(b"\n")
        return data

    def _read_raw(self, size: int) -> bytes:
        if size is None or size < 0:
            return bytes(self._raw.read() or b"")
        # Fill the request: network bodies may return short reads long before the end.
        parts: list[bytes] = []
        wanted = size
        while wanted > 0:
            part = self._raw.read(wanted)
            if not part:
                break
            parts.append(bytes(part))
            wanted -= len(part)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def peek_line(self, limit: int = 1 << 20) -> bytes:
        """Read up to and including the first newline without consuming it (for CSV headers)."""
        chunks: list[bytes] = []
        total = 0
        while total < limit:
            chunk = self.read(64 * 1024)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if b"\n" in chunk:
                break
        data = b"".join(chunks)
        self._pushback = data + self._pushback
        end = data.find(b"\n")
        return data if end < 0 else data[: end + 1]

    def _check(self, data: bytes, *, final: bool) -> None:
        # Fast path: pure ASCII with no multi-byte sequence pending needs no decoding.
        if data.isascii() and not self._decoder.getstate()[0]:
            return
        try:
            self._decoder.decode(data, final=final)
        except UnicodeDecodeError as exc:
            line = self.newlines + data.count(b"\n", 0, max(exc.start, 0)) + 1
            self.violation = ContractViolation(
                ENCODING,
                f"not valid UTF-8 at byte offset {self.bytes_read + exc.start}: {exc.reason}",
                row=max(line - self._header_lines, 1),
            )
            raise self.violation from None

    def close(self) -> None:
        close = getattr(self._raw, "close", None)
        if close is not None:
            close()
        super().close()


class Decompressed(io.RawIOBase):
    """Decompress a binary ``read(n)`` source as it streams (gzip or zstd, Arrow's codecs).

    Arrow reads the compressed source in 64 KiB chunks and keeps one chunk's output buffered, so
    memory stays bounded whatever the expansion ratio. A stream that does not decompress is bad
    data (MALFORMED); an error from the source itself (network) propagates unchanged for a retry.
    """

    def __init__(self, raw: BinaryIO | Any, codec: str) -> None:
        import pyarrow as pa

        self._source = _SourceReader(raw)
        self._codec = codec
        self._stream = pa.CompressedInputStream(pa.PythonFile(self._source, mode="r"), codec)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        try:
            return bytes(self._stream.read(None if size is None or size < 0 else size))
        except Exception as exc:
            if self._source.error is not None:
                raise self._source.error from None
            raise ContractViolation(
                MALFORMED, f"not a valid {self._codec} stream: {exc}"[:300]
            ) from None

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._source.close()
        super().close()


class _SourceReader(io.RawIOBase):
    """The file-like object Arrow's PythonFile needs, remembering the source's own errors."""

    def __init__(self, raw: BinaryIO | Any) -> None:
        self._raw = raw
        self.error: BaseException | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._raw.read(len(buffer))
        except BaseException as exc:
            self.error = exc
            raise
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        close = getattr(self._raw, "close", None)
        if close is not None:
            close()
        super().close()
