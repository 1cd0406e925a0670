"""Parquet parts split by size: a table (or key range) becomes ``part-NNNNN.parquet`` objects.

Batches are written to a local temporary file; when the file reaches ``target_bytes`` the part is
closed and uploaded (``store.put_file``: S3 multipart for a large part), and the next batch opens
the next part. Memory holds one batch and the Parquet writer's current page buffers, never a
part: disk (Lambda's /tmp, sized by the module) holds at most one part at a time.

A part is numbered from ``first_part`` (a key range k numbers its parts from k * 10000, so ranges
never collide). Nothing is written for an empty input: ``finish`` returns [].
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.parquet as pq

PARQUET_CONTENT_TYPE = "application/vnd.apache.parquet"
COMPRESSION = "zstd"


class ObjectStore(Protocol):
    """Where parts, manifests and summaries go (``headwater.onboard.s3_store.S3Store``)."""

    def put_file(self, key: str, path: str) -> None: ...

    def put_bytes(self, key: str, data: bytes, content_type: str) -> None: ...

    def list(self, prefix: str) -> list[str]: ...

    def delete(self, keys: list[str]) -> None: ...

    def get_bytes(self, key: str) -> bytes: ...


@dataclass(frozen=True)
class PartInfo:
    key: str
    rows: int
    bytes: int


def part_key(prefix: str, number: int) -> str:
    return f"{prefix}part-{number:05d}.parquet"


class PartWriter:
    """``write`` batches (one schema), ``finish`` for the parts written. ``prefix`` ends with
    '/' (``<target_prefix><schema>.<table>/run=<run_id>/``)."""

    def __init__(
        self,
        store: ObjectStore,
        prefix: str,
        target_bytes: int,
        first_part: int = 0,
        *,
        temp_dir: str | None = None,
    ) -> None:
        if target_bytes < 1:
            raise ValueError("target_bytes must be positive")
        self.store, self.prefix, self.target_bytes = store, prefix, target_bytes
        self.next_part = first_part
        self.temp_dir = temp_dir
        self.parts: list[PartInfo] = []
        self._writer: pq.ParquetWriter | None = None
        self._path: str | None = None
        self._rows = 0

    @property
    def rows(self) -> int:
        """Rows written so far, in closed parts and the open one."""
        return sum(p.rows for p in self.parts) + self._rows

    def write(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        if self._writer is None:
            fd, self._path = tempfile.mkstemp(suffix=".parquet", dir=self.temp_dir)
            os.close(fd)
            self._writer = pq.ParquetWriter(self._path, batch.schema, compression=COMPRESSION)
            self._rows = 0
        self._writer.write_batch(batch)
        self._rows += batch.num_rows
        if os.path.getsize(self._path) >= self.target_bytes:
            self.close_part()

    def close_part(self) -> PartInfo | None:
        """Close the open part, if any, upload it and forget its temporary file."""
        if self._writer is None or self._path is None:
            return None
        path, self._path = self._path, None
        try:
            self._writer.close()
            self._writer = None
            key = part_key(self.prefix, self.next_part)
            size = os.path.getsize(path)
            self.store.put_file(key, path)
        finally:
            self._writer = None
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        info = PartInfo(key, self._rows, size)
        self.parts.append(info)
        self.next_part += 1
        self._rows = 0
        return info

    def finish(self) -> list[PartInfo]:
        self.close_part()
        return list(self.parts)

    def abort(self) -> None:
        """Drop the open part without uploading it (on an error)."""
        writer, path = self._writer, self._path
        self._writer, self._path, self._rows = None, None, 0
        if writer is not None:
            with contextlib.suppress(Exception):
                writer.close()
        if path is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)

    def __enter__(self) -> PartWriter:
        return self

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        if exc_type is not None:
            self.abort()
