"""Validate a CSV / NDJSON / JSON-array stream against its contract and write Parquet.

Memory is bounded regardless of file size: the input is read block by block from a binary stream
(an S3 StreamingBody or a local file), record batches are validated and appended to a Parquet file
on local disk, and primary-key fingerprints spill to disk (see keys.py). Nothing holds the file.

When Arrow's fast path rejects a file its message rarely names the row, so a diagnostic pass
re-reads the source with the standard library (``open_source`` is called again) to locate the
first offending row and column.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import os
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from headwater.contracts.rows import CSV_FALSE, CSV_TRUE, RowValidator
from headwater.contracts.rules import (
    DUPLICATE_KEY,
    EMPTY_FILE,
    MALFORMED,
    MISSING_COLUMN,
    NULL_VALUE,
    ContractViolation,
    define_rule,
)
from headwater.contracts.schema import Contract
from headwater.contracts.stream import CheckedStream
from headwater.ingest.json_array import JsonArrayReader
from headwater.ingest.keys import DuplicateKeyDetector, fingerprints

OpenSource = Callable[[], BinaryIO]


@dataclass(frozen=True)
class Tuning:
    """Knobs measured with bench/ingest_bench.py on a 2-core machine (see bench/README.md)."""

    block_size: int = 4 << 20  # bytes of input parsed per record batch
    use_threads: bool = True
    max_read_ahead: int = 4  # blocks Arrow may prefetch beyond the batch being validated
    row_group_rows: int = 512 << 10  # rows buffered before a Parquet row group is written
    compression: str = "snappy"
    json_rows_per_batch: int = 10_000
    # The largest row (CSV record or NDJSON line) read. A row longer than block_size makes
    # Arrow fail the block ("straddling object"); the file is then read again with blocks four
    # times larger (read-ahead 1, so memory stays about 3 blocks), up to this size. A larger row
    # quarantines the file as row_too_large. Raise it with the function's memory.
    max_row_bytes: int = 32 << 20


ROW_TOO_LARGE = define_rule("row_too_large")


class _BlockTooSmall(Exception):
    """Arrow met a row longer than the block: read again with larger blocks."""


@dataclass(frozen=True)
class ConversionResult:
    rows: int
    batches: int
    row_groups: int
    bytes_in: int


def convert_to_parquet(
    open_source: OpenSource,
    contract: Contract,
    out_path: str | os.PathLike[str],
    tuning: Tuning | None = None,
    temp_dir: str | None = None,
) -> ConversionResult:
    """Write ``out_path`` if and only if the whole input satisfies ``contract``.

    Raises ContractViolation for bad data; any other exception (I/O, network) propagates so the
    caller can retry. ``out_path`` never survives a failure.
    """
    tuning = tuning or Tuning()
    try:
        while True:
            try:
                return _convert(open_source, contract, out_path, tuning, temp_dir)
            except _BlockTooSmall:
                if tuning.block_size >= tuning.max_row_bytes:
                    raise _row_too_large(tuning) from None
                tuning = dataclasses.replace(
                    tuning,
                    block_size=min(tuning.block_size * 4, tuning.max_row_bytes),
                    max_read_ahead=1,
                )
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(out_path)
        raise


def _row_too_large(tuning: Tuning, row: int | None = None) -> ContractViolation:
    return ContractViolation(
        ROW_TOO_LARGE,
        f"a row is larger than the maximum row size of {tuning.max_row_bytes} bytes",
        row=row,
    )


def _convert(
    open_source: OpenSource,
    contract: Contract,
    out_path: str | os.PathLike[str],
    tuning: Tuning,
    temp_dir: str | None,
) -> ConversionResult:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = contract.arrow_schema()
    rows = batches = row_groups = 0
    pending: list[Any] = []
    pending_rows = 0
    detector = None
    if contract.primary_key:
        detector = DuplicateKeyDetector(contract.primary_key, temp_dir)
    stream = CheckedStream(open_source(), header_lines=1 if contract.format == "csv" else 0)
    try:
        parquet = pq.ParquetWriter(out_path, schema, compression=tuning.compression)
        with BackgroundWriter(parquet) as writer:
            try:
                for batch in _batches(stream, contract, schema, tuning):
                    stream.consumed()
                    _check_nulls(batch, contract, rows, open_source, tuning)
                    if detector is not None:
                        detector.add(batch)
                    rows += batch.num_rows
                    batches += 1
                    pending.append(batch)
                    pending_rows += batch.num_rows
                    if pending_rows >= tuning.row_group_rows:
                        writer.write(pa.Table.from_batches(pending, schema))
                        row_groups += 1
                        pending, pending_rows = [], 0
            except ContractViolation:
                raise
            except (pa.ArrowException, ValueError, csv.Error) as exc:
                if stream.violation is not None:
                    raise stream.violation from None
                if "straddl" in str(exc):  # Arrow: a row longer than the block
                    raise _BlockTooSmall from None
                raise _diagnose(open_source, contract, exc, tuning) from None
            if stream.bytes_read == 0:
                raise ContractViolation(EMPTY_FILE, "the file is zero bytes")
            if rows == 0:
                raise ContractViolation(EMPTY_FILE, "the file has no data rows")
            if pending:
                writer.write(pa.Table.from_batches(pending, schema))
                row_groups += 1
                pending = []
        if detector is not None:
            suspects = detector.duplicates()
            if suspects:
                _confirm_duplicates(open_source, contract, schema, tuning, suspects)
    finally:
        stream.close()
        if detector is not None:
            detector.close()
    return ConversionResult(rows, batches, row_groups, stream.bytes_read)


class BackgroundWriter:
    """Encode and write Parquet row groups on a second thread while the next ones are parsed.

    Arrow releases the GIL while encoding, so parsing and writing overlap on two cores. The queue
    holds at most one row group, which bounds memory to about three row groups in flight.
    """

    def __init__(self, writer: Any) -> None:
        self._writer = writer
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=1)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="parquet-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            table = self._queue.get()
            if table is None:
                return
            if self._error is None:
                try:
                    # One call per row group: ParquetWriter starts a new row group on every call.
                    self._writer.write_table(table, row_group_size=table.num_rows)
                except BaseException as exc:
                    self._error = exc

    def write(self, table: Any) -> None:
        self._raise_if_failed()
        self._queue.put(table)

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    def __enter__(self) -> BackgroundWriter:
        return self

    def __exit__(self, exc_type: Any, *exc: object) -> None:
        self._queue.put(None)
        self._thread.join()
        self._writer.close()
        if exc_type is None:
            self._raise_if_failed()


# --- readers: each yields RecordBatches with exactly the contract's schema --------------------


def _batches(
    stream: CheckedStream, contract: Contract, schema: Any, tuning: Tuning
) -> Iterator[Any]:
    if contract.format == "csv":
        yield from _csv_batches(stream, contract, schema, tuning)
    elif contract.format == "ndjson":
        yield from _ndjson_batches(stream, contract, schema, tuning)
    else:
        yield from _json_array_batches(stream, contract, schema, tuning)


def _conform(batch: Any, schema: Any) -> Any:
    import pyarrow as pa

    return pa.RecordBatch.from_arrays([batch.column(n) for n in schema.names], schema=schema)


def _read_csv_header(stream: CheckedStream, contract: Contract) -> list[str]:
    line = stream.peek_line()
    if not line.strip():
        raise ContractViolation(EMPTY_FILE, "the file is zero bytes" if not line else "no header")
    header = next(csv.reader([line.decode("utf-8").removeprefix("\ufeff").rstrip("\r\n")]))
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise ContractViolation(MALFORMED, f"header repeats column {name!r}", column=name)
        seen.add(name)
    RowValidator(contract, text_values=True).check_names(header, row=None)
    for column in contract.columns:
        if column.name not in seen and not column.nullable:
            raise ContractViolation(
                MISSING_COLUMN, f"required column {column.name!r} is missing", column=column.name
            )
    return header


def _csv_batches(
    stream: CheckedStream, contract: Contract, schema: Any, tuning: Tuning
) -> Iterator[Any]:
    import pyarrow.csv as pacsv

    _read_csv_header(stream, contract)
    stream.throttle(tuning.max_read_ahead)
    reader = pacsv.open_csv(
        stream,
        read_options=pacsv.ReadOptions(
            block_size=tuning.block_size, use_threads=tuning.use_threads
        ),
        # Strict: a row with the wrong number of fields is an error (no invalid_row_handler).
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types={f.name: f.type for f in schema},
            include_columns=schema.names,
            # Only nullable columns can be absent (checked above); they read as all-null.
            include_missing_columns=True,
            null_values=list(contract.null_values),
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
            true_values=sorted(CSV_TRUE),
            false_values=sorted(CSV_FALSE),
        ),
    )
    for batch in reader:
        yield _conform(batch, schema)


def _ndjson_batches(
    stream: CheckedStream, contract: Contract, schema: Any, tuning: Tuning
) -> Iterator[Any]:
    import pyarrow as pa
    import pyarrow.json as pajson

    first = stream.peek_line()
    if not first:
        raise ContractViolation(EMPTY_FILE, "the file is zero bytes")
    stream.throttle(tuning.max_read_ahead)
    explicit = pa.schema([pa.field(f.name, f.type) for f in schema])
    reader = pajson.open_json(
        stream,
        read_options=pajson.ReadOptions(
            block_size=tuning.block_size, use_threads=tuning.use_threads
        ),
        parse_options=pajson.ParseOptions(
            explicit_schema=explicit, unexpected_field_behavior="error"
        ),
    )
    for batch in reader:
        yield _conform(batch, schema)


def _json_array_batches(
    stream: CheckedStream, contract: Contract, schema: Any, tuning: Tuning
) -> Iterator[Any]:
    import pyarrow as pa

    validator = RowValidator(contract, text_values=False)
    text = io.TextIOWrapper(io.BufferedReader(stream), encoding="utf-8", newline="")
    # Elements up to the maximum row size are read (the reader holds one element at a time).
    parser = JsonArrayReader(text, max_element_chars=tuning.max_row_bytes)
    records: list[dict[str, Any]] = []
    for row, element in enumerate(parser, 1):
        if not isinstance(element, dict):
            raise ContractViolation(MALFORMED, "every array element must be an object", row=row)
        records.append(validator.convert(element, row))
        if len(records) >= tuning.json_rows_per_batch:
            yield pa.RecordBatch.from_pylist(records, schema=schema)
            records = []
    if records:
        yield pa.RecordBatch.from_pylist(records, schema=schema)
    text.detach()


# --- checks on batches ------------------------------------------------------------------------


def _check_nulls(
    batch: Any, contract: Contract, rows_before: int, open_source: OpenSource, tuning: Tuning
) -> None:
    import pyarrow.compute as pc

    for column in contract.columns:
        if column.nullable:
            continue
        values = batch.column(column.name)
        if values.null_count:
            index = pc.index(pc.is_null(values), True).as_py()
            guess = ContractViolation(
                NULL_VALUE,
                f"column {column.name!r} is not nullable but has no value",
                row=rows_before + index + 1,
                column=column.name,
            )
            if contract.format == "ndjson":
                # In JSON, null and an absent key both read as null: the diagnostic pass tells.
                raise _diagnose(open_source, contract, guess, tuning)
            raise guess


def _confirm_duplicates(
    open_source: OpenSource, contract: Contract, schema: Any, tuning: Tuning, suspects: list[int]
) -> None:
    """Second pass: find the rows behind suspected fingerprints and compare the real keys."""
    import pyarrow as pa
    import pyarrow.compute as pc

    wanted = pa.array(suspects, pa.uint64())
    first_seen: dict[int, list[tuple[int, tuple[Any, ...]]]] = {}
    rows_before = 0
    stream = CheckedStream(open_source())
    try:
        for batch in _batches(stream, contract, schema, tuning):
            prints = fingerprints(batch, contract.primary_key)
            hits = pc.indices_nonzero(pc.is_in(prints, value_set=wanted)).to_pylist()
            for index in hits:
                fingerprint = prints[index].as_py()
                key = tuple(batch.column(k)[index].as_py() for k in contract.primary_key)
                row = rows_before + index + 1
                for earlier_row, earlier_key in first_seen.get(fingerprint, []):
                    if earlier_key == key:
                        shown = key[0] if len(key) == 1 else key
                        raise ContractViolation(
                            DUPLICATE_KEY,
                            f"primary key {shown!r} repeats row {earlier_row}",
                            row=row,
                            column=",".join(contract.primary_key),
                        )
                first_seen.setdefault(fingerprint, []).append((row, key))
            rows_before += batch.num_rows
    finally:
        stream.close()
    # Only fingerprint collisions of distinct keys: the file is valid.


# --- diagnostic pass --------------------------------------------------------------------------


def _diagnose(
    open_source: OpenSource, contract: Contract, cause: Exception, tuning: Tuning
) -> ContractViolation:
    """Re-read the source row by row; return the first violation, else one wrapping ``cause``."""
    # The csv module's own limit (128 KiB a field) is not ours: rows up to max_row_bytes are valid.
    if csv.field_size_limit() < tuning.max_row_bytes:
        csv.field_size_limit(tuning.max_row_bytes)
    if isinstance(cause, ContractViolation):
        fallback = cause
    else:
        fallback = ContractViolation(MALFORMED, _short(str(cause)))
    stream = CheckedStream(open_source(), header_lines=1 if contract.format == "csv" else 0)
    text = io.TextIOWrapper(io.BufferedReader(stream, 1 << 20), encoding="utf-8", newline="")
    validator = RowValidator(contract, text_values=contract.format == "csv")
    rows = -1  # the JSON-array reader validates row by row already: nothing to diagnose
    try:
        if contract.format == "csv":
            rows = _diagnose_csv(text, validator, tuning)
        elif contract.format == "ndjson":
            rows = _diagnose_ndjson(text, validator)
    except ContractViolation as violation:
        return violation
    finally:
        text.close()
    if rows == 0:
        return ContractViolation(EMPTY_FILE, "the file has no data rows")
    return fallback


def _diagnose_csv(text: io.TextIOWrapper, validator: RowValidator, tuning: Tuning) -> int:
    reader = csv.reader(text, strict=True)
    row = 0
    try:
        header = next(reader, [])
        if header:
            header[0] = header[0].removeprefix("\ufeff")
        for fields in reader:
            if not fields:
                continue  # Arrow skips empty lines too
            row += 1
            if len(fields) != len(header):
                raise ContractViolation(
                    MALFORMED, f"expected {len(header)} fields, found {len(fields)}", row=row
                )
            validator.convert(dict(zip(header, fields, strict=True)), row)
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise _row_too_large(tuning, row + 1) from None
        raise ContractViolation(MALFORMED, f"invalid CSV: {exc}", row=row + 1) from None
    return row


def _diagnose_ndjson(text: io.TextIOWrapper, validator: RowValidator) -> int:
    import json

    row = 0
    for line in text:
        if not line.strip():
            continue
        row += 1
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ContractViolation(MALFORMED, f"invalid JSON: {exc.msg}", row=row) from None
        if not isinstance(record, dict):
            raise ContractViolation(MALFORMED, "every line must be a JSON object", row=row)
        validator.convert(record, row)
    return row


def _short(message: str, limit: int = 300) -> str:
    return message if len(message) <= limit else message[:limit] + "…"
