"""An append-only file of the emulator's acknowledged write requests, read back at start-up.

One record per request: a 12-byte header (length of the metadata, length of the body, CRC-32 of
both), the metadata as JSON, the raw body. A record is one ``os.write`` on a file opened with
``O_APPEND``, done before the response leaves: once the write returns, the bytes are the
kernel's, so a ``kill -9`` of the daemon cannot lose them. Power loss can, unless ``fsync`` is on
(``HEADWATER_LOCAL_DURABILITY=fsync``: one ``fsync`` per write request). A crash in the middle of
a write leaves a torn last record; reading stops there and ``open`` cuts it off, so new records
never follow garbage.
"""

from __future__ import annotations

import json
import logging
import os
import struct
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_HEADER = struct.Struct(">III")


@dataclass(frozen=True)
class Record:
    meta: dict[str, Any]
    body: bytes


def encode(meta: dict[str, Any], body: bytes) -> bytes:
    meta_bytes = json.dumps(meta, separators=(",", ":")).encode()
    crc = zlib.crc32(body, zlib.crc32(meta_bytes))
    return _HEADER.pack(len(meta_bytes), len(body), crc) + meta_bytes + body


def read(path: Path) -> tuple[list[Record], int]:
    """The complete records of ``path`` and the offset where they end (the rest is torn)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return [], 0
    records: list[Record] = []
    end = 0
    for end, record in _walk(data):  # noqa: B007 - the last offset is where the valid part ends
        records.append(record)
    return records, end


def _walk(data: bytes) -> Iterator[tuple[int, Record]]:
    offset = 0
    while offset + _HEADER.size <= len(data):
        meta_len, body_len, crc = _HEADER.unpack_from(data, offset)
        start = offset + _HEADER.size
        end = start + meta_len + body_len
        if end > len(data):
            return
        meta_bytes, body = data[start : start + meta_len], data[start + meta_len : end]
        if zlib.crc32(body, zlib.crc32(meta_bytes)) != crc:
            return
        try:
            meta = json.loads(meta_bytes)
        except ValueError:
            return
        offset = end
        yield offset, Record(meta, body)


class Journal:
    """The writer: appends records; ``fsync`` per record when asked for power-loss safety."""

    def __init__(self, path: Path, fsync: bool = False) -> None:
        self.path = path
        self.fsync = fsync
        self._fd: int | None = None

    def open(self, valid_end: int | None = None) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        size = os.fstat(fd).st_size
        if valid_end is not None and size > valid_end:
            # A torn record from a crash mid-write. Kept aside, not just dropped: should it ever
            # be more than a torn tail (a damaged disk), what followed can still be looked at.
            with open(self.path, "rb") as source:
                source.seek(valid_end)
                aside = self.path.with_name(f"{self.path.name}.torn-{int(time.time())}")
                aside.write_bytes(source.read())
            log.warning(
                "journal: %d bytes after the last complete record set aside in %s",
                size - valid_end,
                aside,
            )
            os.ftruncate(fd, valid_end)
        self._fd = fd

    def append(self, meta: dict[str, Any], body: bytes) -> None:
        if self._fd is None:
            raise RuntimeError("journal is not open")
        view = memoryview(encode(meta, body))
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        if self.fsync:
            os.fsync(self._fd)

    def size(self) -> int:
        return os.fstat(self._fd).st_size if self._fd is not None else 0

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
