"""Duplicate primary key detection in bounded memory.

Each key becomes a 64-bit fingerprint: a single int64 key is its own value (exact); other keys
use Python's hash of the key tuple (a collision is possible, so a
second pass confirms a suspected duplicate against the real keys before anything is rejected).
Fingerprints are spilled to PARTITIONS files on local disk by their low bits; at the end each
partition is loaded, sorted and scanned on its own, so memory is about rows * 8 / PARTITIONS bytes.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

PARTITIONS = 16
_MASK64 = (1 << 64) - 1
_CHUNK_ROWS = 1 << 20  # fingerprints partitioned at a time (8 MB)


def fingerprints(batch: Any, key_columns: tuple[str, ...]) -> Any:
    """A UInt64Array with one fingerprint per row of ``batch`` (pyarrow RecordBatch)."""
    import pyarrow as pa

    if len(key_columns) == 1 and batch.schema.field(key_columns[0]).type == pa.int64():
        column = batch.column(key_columns[0])
        # The value itself, reinterpreted zero-copy: exact, and the cheapest fingerprint.
        return column.view(pa.uint64())
    columns = [batch.column(name).to_pylist() for name in key_columns]
    return pa.array([hash(key) & _MASK64 for key in zip(*columns, strict=True)], pa.uint64())


class DuplicateKeyDetector:
    """Collect fingerprints batch by batch; ``duplicates()`` returns the repeated ones."""

    def __init__(self, key_columns: tuple[str, ...], directory: str | None = None) -> None:
        self.key_columns = key_columns
        self._dir = tempfile.TemporaryDirectory(prefix="hw-keys-", dir=directory)
        self._files = [
            open(os.path.join(self._dir.name, f"p{i:02d}.u64"), "wb")  # noqa: SIM115
            for i in range(PARTITIONS)
        ]
        self._unsorted = open(os.path.join(self._dir.name, "unsorted.u64"), "wb")  # noqa: SIM115

    def add(self, batch: Any) -> None:
        # Only append raw bytes while the file is read: a compute call here would queue behind
        # Arrow's parse tasks on the shared CPU pool and stall the whole pipeline.
        self._unsorted.write(_data_bytes(fingerprints(batch, self.key_columns)))

    def _partition(self) -> None:
        """After reading: split the spilled fingerprints into partition files, chunk by chunk."""
        import pyarrow as pa
        import pyarrow.compute as pc

        self._unsorted.close()
        with open(self._unsorted.name, "rb") as spilled:
            while chunk := spilled.read(_CHUNK_ROWS * 8):
                prints = pa.Array.from_buffers(
                    pa.uint64(), len(chunk) // 8, [None, pa.py_buffer(chunk)]
                )
                # Low bits: uniform for sequential ids and for hashed keys, one cheap kernel.
                partition = pc.bit_wise_and(prints, pa.scalar(PARTITIONS - 1, pa.uint64()))
                # One counting sort by partition, then one contiguous slice per partition.
                grouped = pc.take(prints, pc.array_sort_indices(partition))
                counts = {e["values"]: e["counts"] for e in pc.value_counts(partition).to_pylist()}
                start = 0
                for i, handle in enumerate(self._files):
                    count = counts.get(i, 0)
                    if count:
                        handle.write(_data_bytes(grouped.slice(start, count)))
                        start += count
        os.unlink(self._unsorted.name)

    def duplicates(self, limit: int = 100) -> list[int]:
        """Fingerprints seen more than once (at most ``limit``), partition by partition."""
        import pyarrow as pa
        import pyarrow.compute as pc

        self._partition()
        found: list[int] = []
        for handle in self._files:
            handle.close()
            with open(handle.name, "rb") as f:
                data = f.read()
            os.unlink(handle.name)
            count = len(data) // 8
            if count < 2:
                continue
            values = pa.Array.from_buffers(pa.uint64(), count, [None, pa.py_buffer(data)])
            del data
            ordered = pc.take(values, pc.array_sort_indices(values))
            del values
            repeated = pc.equal(ordered.slice(1), ordered.slice(0, count - 1))
            if pc.any(repeated).as_py():
                found.extend(pc.unique(pc.filter(ordered.slice(1), repeated)).to_pylist())
                if len(found) >= limit:
                    break
        return found[:limit]

    def close(self) -> None:
        self._unsorted.close()
        for handle in self._files:
            handle.close()
        self._dir.cleanup()

    def __enter__(self) -> DuplicateKeyDetector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _data_bytes(array: Any) -> memoryview:
    """The raw little-endian values of a null-free fixed-width array, honouring its offset."""
    buffer = array.buffers()[1]
    start = array.offset * 8
    return memoryview(buffer)[start : start + len(array) * 8]
