"""The weekly summary of one record dataset: counts and a Parquet export of one ISO week.

Written under ``<prefix><dataset>/week=YYYY-Www/``:

- ``part-00000.parquet``, ``part-00001.parquet``, ...: the week's records, ``Tuning.part_rows``
  per part at most, one row group per ``Tuning.batch_rows``. Columns ``id``, ``received_at``
  (timestamp[us, UTC]), ``producer``, then the declared fields with the shared core's Arrow types
  (``headwater.contracts.schema.arrow_type``; timestamps as UTC instants, dates as date32); a
  field absent from a record is null.
- ``summary.json``: dataset, week, time zone, start/end (RFC 3339, UTC), total, per day (the
  week's 7 local days, days without records listed with 0), per producer, the parts with their
  rows. It holds no generation time, so a rerun over unchanged records writes the same bytes
  (the object's LastModified says when it ran).

An empty week writes ``summary.json`` with zeros and no part: "nothing arrived" is an answer.

Reading is Query only, over ``keys.key_ranges`` (7 or 8 UTC days x the dataset's shards), page
by page: memory holds one record batch and one open part file whatever the week's size, never
the week. Query returns a partition's items in id order and the ranges come in day then shard
order, so the export's row order (and, with the same pyarrow, its bytes) is the same on every run.

A rerun replaces the week: parts are written first, then every other object under the week's
prefix (parts left by an earlier, larger run) is deleted, then ``summary.json`` is written last,
so a reader that sees the new summary sees exactly the parts it lists. Any failure raises.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from headwater import __version__
from headwater.records import keys
from headwater.records.declarations import RecordDataset
from headwater.records.weeks import IsoWeek

SUMMARY_NAME = "summary.json"
FIXED_COLUMNS = ("id", "received_at", "producer")


@dataclass(frozen=True)
class Tuning:
    # Rows per Arrow record batch, written as one Parquet row group: what memory holds at once.
    batch_rows: int = 10_000
    # Rows per part file: bounds the temporary file (Lambda's /tmp) and each upload.
    part_rows: int = 500_000
    compression: str = "snappy"
    # Where part files are staged before upload (None: the system's temporary directory).
    workdir: str | None = None


@dataclass
class ReadStats:
    """What reading the week cost: the benchmark's and the report's figures."""

    queries: int = 0  # Query requests (pages)
    items_read: int = 0  # ScannedCount summed: items DynamoDB read (and billed)
    consumed_capacity: float = 0.0  # ReturnConsumedCapacity=TOTAL summed


def week_prefix(prefix: str, dataset: str, week: IsoWeek) -> str:
    return f"{prefix}{dataset}/week={week}/"


def part_name(index: int) -> str:
    return f"part-{index:05d}.parquet"


# ---- reading --------------------------------------------------------------------------------


def read_week(
    dynamodb: Any,
    table: str,
    dataset: RecordDataset,
    start: datetime,
    end: datetime,
    stats: ReadStats,
) -> Iterator[dict[str, Any]]:
    """The records received in [start, end) as ``{"id", "producer", "record"}`` (Python values,
    numbers as Decimal), one Query page at a time."""
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    paginator = dynamodb.get_paginator("query")
    for key_range in keys.key_ranges(dataset.dataset, start, end, dataset.shards):
        pages = paginator.paginate(
            TableName=table,
            KeyConditionExpression="#pk = :pk AND #id BETWEEN :low AND :high",
            ExpressionAttributeNames={
                "#pk": keys.PARTITION_KEY,
                "#id": keys.SORT_KEY,
                "#producer": "producer",
                "#record": "record",
            },
            ExpressionAttributeValues={
                ":pk": {"S": key_range.pk},
                ":low": {"S": key_range.low},
                ":high": {"S": key_range.high},
            },
            # received_at is the id's instant: not read, derived.
            ProjectionExpression="#id, #producer, #record",
            ReturnConsumedCapacity="TOTAL",
        )
        for page in pages:
            stats.queries += 1
            stats.items_read += page.get("ScannedCount", page.get("Count", 0))
            stats.consumed_capacity += page.get("ConsumedCapacity", {}).get("CapacityUnits", 0)
            for item in page.get("Items", []):
                yield {name: deserializer.deserialize(value) for name, value in item.items()}


# ---- converting -----------------------------------------------------------------------------


def _timestamp(value: Any) -> datetime:
    # The schema admits "t"/"z" and a space separator; fromisoformat wants them upper-case.
    instant = datetime.fromisoformat(str(value).upper())
    if instant.tzinfo is None:  # the schema requires an offset; stored by an older declaration
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(UTC)


def _int64(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise TypeError("not a number")
    if isinstance(value, Decimal) and value != value.to_integral_value():
        raise ValueError("not an integer")
    return int(value)


def _float64(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise TypeError("not a number")
    return float(value)


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("not a string")
    return value


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError("not a boolean")
    return value


CONVERTERS: Mapping[str, Callable[[Any], Any]] = {
    "string": _string,
    "int64": _int64,
    "float64": _float64,
    "bool": _bool,
    "date": lambda v: date.fromisoformat(_string(v)),
    "timestamp": _timestamp,
}


def arrow_schema(dataset: RecordDataset) -> Any:
    import pyarrow as pa

    from headwater.contracts.schema import arrow_type

    return pa.schema(
        [
            pa.field("id", pa.string(), nullable=False),
            pa.field("received_at", pa.timestamp("us", tz="UTC"), nullable=False),
            pa.field("producer", pa.string()),
            # Nullable even when required: "required" is checked when a record is posted, and a
            # record stored before a declaration made a field required must still export.
            *(pa.field(f.name, arrow_type(f.type)) for f in dataset.fields),
        ]
    )


class BatchBuilder:
    """Records -> one Arrow record batch at a time, values converted by the declared types."""

    def __init__(self, dataset: RecordDataset, schema: Any) -> None:
        self.dataset = dataset
        self.schema = schema
        self.converters = [(f.name, CONVERTERS[f.type]) for f in dataset.fields]
        self.clear()

    def clear(self) -> None:
        self.columns: list[list[Any]] = [[] for _ in self.schema]

    def __len__(self) -> int:
        return len(self.columns[0])

    def add(self, item: Mapping[str, Any], received_at: datetime) -> None:
        record = item.get("record") or {}
        row = [item["id"], received_at, item.get("producer")]
        for name, convert in self.converters:
            value = record.get(name)
            if value is not None:
                try:
                    value = convert(value)
                except (TypeError, ValueError) as exc:
                    # A stored value the declaration no longer describes (its type changed):
                    # fail loudly rather than export a column that silently lost values.
                    raise ValueError(
                        f"record {item['id']} of {self.dataset.dataset}: field {name!r}: "
                        f"{value!r} is not a {self.dataset.field(name).type} ({exc})"
                    ) from exc
            row.append(value)
        for column, value in zip(self.columns, row, strict=True):
            column.append(value)

    def take(self) -> Any:
        import pyarrow as pa

        batch = pa.RecordBatch.from_arrays(
            [pa.array(c, type=f.type) for c, f in zip(self.columns, self.schema, strict=True)],
            schema=self.schema,
        )
        self.clear()
        return batch


# ---- writing --------------------------------------------------------------------------------


class PartWriter:
    """Record batches -> ``part-NNNNN.parquet`` objects of at most ``part_rows`` rows, each
    staged in a temporary file and uploaded when full (upload_file: multipart when large)."""

    def __init__(self, s3: Any, bucket: str, prefix: str, schema: Any, tuning: Tuning) -> None:
        self.s3, self.bucket, self.prefix = s3, bucket, prefix
        self.schema, self.tuning = schema, tuning
        self.parts: list[dict[str, Any]] = []
        self._writer: Any = None
        self._path: str | None = None
        self._rows = 0

    @property
    def room(self) -> int:
        """Rows the open (or next) part still takes."""
        return self.tuning.part_rows - self._rows

    def write(self, batch: Any) -> None:
        import pyarrow.parquet as pq

        if self._writer is None:
            fd, self._path = tempfile.mkstemp(suffix=".parquet", dir=self.tuning.workdir)
            os.close(fd)
            self._writer = pq.ParquetWriter(
                self._path, self.schema, compression=self.tuning.compression
            )
        self._writer.write_batch(batch)  # one row group per batch
        self._rows += batch.num_rows
        if self._rows >= self.tuning.part_rows:
            self.flush()

    def flush(self) -> None:
        """Close and upload the open part, if any."""
        if self._writer is None:
            return
        self._writer.close()
        key = self.prefix + part_name(len(self.parts))
        try:
            self.s3.upload_file(self._path, self.bucket, key)
        finally:
            self._discard()
        self.parts.append({"key": key, "rows": self._rows})
        self._rows = 0

    def _discard(self) -> None:
        if self._path is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._path)
        self._writer, self._path = None, None

    def abort(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close()
        self._discard()


def delete_others(s3: Any, bucket: str, prefix: str, keep: set[str]) -> list[str]:
    """Delete every object under ``prefix`` whose key is not in ``keep``; the keys deleted."""
    stale = [
        obj["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for obj in page.get("Contents", [])
        if obj["Key"] not in keep
    ]
    for i in range(0, len(stale), 1000):  # DeleteObjects takes up to 1000 keys
        chunk = stale[i : i + 1000]
        response = s3.delete_objects(
            Bucket=bucket,
            Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True},
        )
        if response.get("Errors"):
            error = response["Errors"][0]
            raise RuntimeError(
                f"cannot delete s3://{bucket}/{error.get('Key')}: "
                f"{error.get('Code')}: {error.get('Message')}"
            )
    return stale


# ---- the summary ----------------------------------------------------------------------------


@dataclass
class DatasetSummary:
    document: dict[str, Any]
    summary_key: str
    stats: ReadStats = field(default_factory=ReadStats)
    deleted: list[str] = field(default_factory=list)

    def report(self) -> dict[str, Any]:
        """The function's small, JSON-able report of this dataset."""
        return {
            "total": self.document["total"],
            "summary": self.summary_key,
            "parts": [p["key"] for p in self.document["parts"]],
            "stale_deleted": len(self.deleted),
            "items_read": self.stats.items_read,
            "queries": self.stats.queries,
            "consumed_capacity": self.stats.consumed_capacity,
        }


def summarise_week(
    *,
    dynamodb: Any,
    s3: Any,
    table: str,
    bucket: str,
    prefix: str,
    dataset: RecordDataset,
    week: IsoWeek,
    tz: ZoneInfo,
    tuning: Tuning | None = None,
) -> DatasetSummary:
    """Count and export ``dataset``'s records of ``week`` (local time in ``tz``); see the module
    docstring for what is written. Raises on any failure (nothing is reported as success)."""
    tuning = tuning or Tuning()
    start, end = week.bounds(tz)
    destination = week_prefix(prefix, dataset.dataset, week)
    schema = arrow_schema(dataset)
    stats = ReadStats()
    per_day: Counter[str] = Counter({d.isoformat(): 0 for d in week.days()})
    per_producer: Counter[str] = Counter()
    builder = BatchBuilder(dataset, schema)
    parts = PartWriter(s3, bucket, destination, schema, tuning)
    try:
        for item in read_week(dynamodb, table, dataset, start, end, stats):
            received_at = keys.id_time(item["id"])
            per_day[received_at.astimezone(tz).date().isoformat()] += 1
            per_producer[str(item.get("producer"))] += 1
            builder.add(item, received_at)
            # A batch ends at batch_rows or where the open part is full: parts hold exactly
            # part_rows rows (the last one fewer), row groups at most batch_rows.
            if len(builder) >= min(tuning.batch_rows, parts.room):
                parts.write(builder.take())
        if len(builder):
            parts.write(builder.take())
        parts.flush()
    except BaseException:
        parts.abort()
        raise
    summary_key = destination + SUMMARY_NAME
    document = {
        "dataset": dataset.dataset,
        "week": str(week),
        "time_zone": tz.key,
        "start": keys.rfc3339(start),
        "end": keys.rfc3339(end),
        "total": sum(per_day.values()),
        "per_day": dict(sorted(per_day.items())),
        "per_producer": dict(sorted(per_producer.items())),
        "parts": parts.parts,
        "columns": [{"name": f.name, "type": str(f.type)} for f in schema],
        "generated_by": f"headwater {__version__}",
    }
    keep = {p["key"] for p in parts.parts} | {summary_key}
    deleted = delete_others(s3, bucket, destination, keep)
    s3.put_object(
        Bucket=bucket,
        Key=summary_key,
        Body=json.dumps(document, indent=2).encode(),
        ContentType="application/json",
    )
    return DatasetSummary(document, summary_key, stats, deleted)
