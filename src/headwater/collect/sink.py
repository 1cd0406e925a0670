"""The stream sink: the facts table's change records -> Parquet objects on S3, exactly once.

The facts table's stream (``NEW_AND_OLD_IMAGES``) reaches the sink function through an event
source mapping with ``ReportBatchItemFailures``. One invocation gets a batch of one shard's
records, in sequence order. The sink

1. parses each record (Lambda's DynamoDB event shape) into a ``ChangeRecord``: the operation
   (INSERT, MODIFY, REMOVE), whether a REMOVE was a TTL expiry (``userIdentity`` is the
   DynamoDB service), the sequence number, the partition (dataset = the fact's source, day =
   the sort key's day, see ``facts.py``), the keys and both images (boto3's TypeDeserializer);
2. groups the batch's records by partition, each group in sequence order;
3. writes ONE OBJECT PER GROUP, keyed by the group's FIRST record:
   ``<prefix>dataset=<dataset>/day=<day>/<stream label>-<first sequence number>.parquet``,
   the sequence number zero-padded to 40 digits (the longest a DynamoDB Streams sequence number
   is) so keys sort in stream order. The shard id is not in the records: the stream label (from
   ``eventSourceARN``) and the sequence number name the object;
4. on a partial failure (some groups' writes failed), lets ``c`` = the smallest sequence number
   among the failed groups' records, trims every object written in this attempt that holds a
   record ``>= c`` (rewritten, same key, with only its records ``< c``; deleted when its first
   record is ``>= c``) and answers ``batchItemFailures = [{"itemIdentifier": c}]``: Lambda
   checkpoints before ``c`` and retries from ``c`` on. A trim that fails raises, so Lambda
   retries (or bisects) the whole batch. A record that cannot be parsed is a failure at its
   own sequence number the same way (the records before it are written; with bisect and
   maximum retries the bad record alone ends in the on-failure destination).

Columns: ``sequence_number`` (the padded string: Parquet has no 40-digit integer),
``operation``, ``ttl_removal``, ``approximate_creation_time`` (UTC), ``event_id``, ``pk``,
``sk``, and ``new_image`` / ``old_image`` as DynamoDB JSON strings (null when absent). DynamoDB
JSON is the stream's own encoding and what DynamoDB's export to S3 writes: every value keeps
its type, numbers stay exact decimal strings (a fact's spend is a Decimal), and the sink does
not need to change when the fact gains an attribute. Readers decode with TypeDeserializer.

WHY EACH CHANGE RECORD LANDS EXACTLY ONCE. Lambda starts every attempt on a shard at its
checkpoint ``cp`` (a retry, either half of a bisect, a resume after a partial failure) and
delivers a contiguous run of the shard from there; only the end varies. (Lambda's guide,
"Configuring partial batch response with DynamoDB and Lambda": "If the batchItemFailures array
contains multiple items, Lambda uses the record with the lowest sequence number as the
checkpoint. Lambda then retries all records starting from that checkpoint"; with bisect on, "the
batch is bisected at the returned sequence number and Lambda retries only the remaining
records".) So in an attempt the
key of partition P's object is "the first record of P at or after ``cp``", a function of the
checkpoint and not of the batch's end. The invariant: every object in the store is either
(a) acknowledged: all its records are ``< cp``, or (b) pending: all its records are ``>= cp``
and its key is the first record of P at or after ``cp`` (so at most one pending object per P).
- An attempt writes P's object under exactly the key of P's pending object, so it overwrites
  it, never adds a second copy (a bisected half writes a smaller object; the other half's P
  records, if P has none in the first half, keep a key that is still "first of P at or after
  the new checkpoint", and the next attempt overwrites it).
- Success: the checkpoint moves past the batch; what this attempt wrote becomes (a); a pending
  object it did not touch holds only records past the batch, so it stays (b).
- Partial failure at ``c``: after the trim, this attempt's objects hold only records ``< c``;
  a failed group's old pending object has a key ``>= c`` that is still the first of P at or
  after ``c``. The checkpoint becomes ``c``: records ``< c`` were reported successful and are
  never retried, and a later key (``>= c``) never equals an acknowledged object's key (``< c``).
- Exception: the checkpoint stays; what was written (and possibly trimmed) is pending, keyed
  by the first of P at or after ``cp``.
When the checkpoint has passed every record, no pending object can exist (its key would be a
record at or after the checkpoint), and each acknowledged record is in the one object written
by the attempt that acknowledged it. ``tests/unit/collect/test_sink.py`` checks this with a
simulator of the mapping that fails every write position and the trim.

Assumptions, to be pinned where the mapping is declared: ``ParallelizationFactor`` 1 (more
would split a shard by item key, so a batch is no longer a contiguous run), and sequence
numbers unique within the stream (DynamoDB assigns them in publication order). A record the
mapping gives up on (maximum retries or record age) may already sit in a pending object, so it
lands at most once; its metadata goes to the on-failure destination for a replay.
"""

from __future__ import annotations

import base64
import io
import json
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Protocol

from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer

from headwater.collect import facts

OPERATIONS = frozenset({"INSERT", "MODIFY", "REMOVE"})
# DynamoDB Streams API, StreamRecord.SequenceNumber: "Length Constraints: Minimum length of 21.
# Maximum length of 40." Padding to the maximum keeps keys in stream order.
SEQUENCE_WIDTH = 40
# AWS: a TTL deletion's stream record carries this userIdentity.
TTL_IDENTITY = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
# arn:aws:dynamodb:<region>:<account>:table/<table>/stream/<label>
_STREAM_ARN = re.compile(r"^arn:[^:]+:dynamodb:[^:]*:[^:]*:table/([^/]+)/stream/([^/]+)$")

_deserializer = TypeDeserializer()
_serializer = TypeSerializer()


class ObjectStore(Protocol):
    """Where objects go (S3 in the function). Both calls raise on failure."""

    def put(self, key: str, body: bytes) -> None: ...

    def delete(self, key: str) -> None: ...


class RecordError(ValueError):
    """A stream record the sink cannot read; the message says which and why."""


class TrimError(RuntimeError):
    """A partial failure could not be cleaned up: the whole batch must be retried."""


@dataclass(frozen=True)
class Partition:
    dataset: str
    day: date


@dataclass(frozen=True)
class ChangeRecord:
    operation: str
    ttl_removal: bool
    sequence_number: str  # as delivered; compare with ``sequence`` (lengths differ)
    partition: Partition
    stream_label: str
    keys: dict[str, Any]
    new_image: dict[str, Any] | None
    old_image: dict[str, Any] | None
    approximate_creation_time: datetime | None = None
    event_id: str | None = None

    @property
    def sequence(self) -> int:
        return int(self.sequence_number)


def _sequence_number(record: Mapping[str, Any]) -> str:
    value = (record.get("dynamodb") or {}).get("SequenceNumber")
    if not isinstance(value, str) or not value.isdigit() or len(value) > SEQUENCE_WIDTH:
        raise RecordError(f"record {record.get('eventID')!r}: bad SequenceNumber {value!r}")
    return value


def _image(stream: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    image = stream.get(name)
    return None if image is None else {k: _deserializer.deserialize(v) for k, v in image.items()}


def partition_of(keys: Mapping[str, Any]) -> Partition:
    """dataset = the source (second part of ``pk``), day = the sort key's day."""
    pk, sk = keys.get(facts.PARTITION_KEY), keys.get(facts.SORT_KEY)
    if not isinstance(pk, str) or not isinstance(sk, str):
        raise RecordError(f"keys {dict(keys)!r} are not a fact's pk and sk")
    parts = pk.split(facts.SEPARATOR, 2)
    try:
        day = date.fromisoformat(sk[:10])
    except ValueError:
        day = None
    if len(parts) != 3 or not all(parts) or day is None or sk[10:11] != facts.SEPARATOR:
        raise RecordError(f"keys {dict(keys)!r} are not a fact's pk and sk")
    return Partition(dataset=parts[1], day=day)


def parse_record(record: Mapping[str, Any]) -> ChangeRecord:
    """One record of Lambda's DynamoDB stream event -> a ChangeRecord (RecordError if bad)."""
    sequence_number = _sequence_number(record)
    where = f"record {sequence_number}"
    operation = record.get("eventName")
    if operation not in OPERATIONS:
        raise RecordError(f"{where}: eventName {operation!r} is not one of {sorted(OPERATIONS)}")
    match = _STREAM_ARN.match(str(record.get("eventSourceARN", "")))
    if not match:
        raise RecordError(f"{where}: eventSourceARN {record.get('eventSourceARN')!r}")
    stream = record["dynamodb"]
    try:
        keys = _image(stream, "Keys") or {}
        new_image, old_image = _image(stream, "NewImage"), _image(stream, "OldImage")
    except (TypeError, ValueError, AttributeError) as exc:
        raise RecordError(f"{where}: not DynamoDB JSON ({exc})") from exc
    created = stream.get("ApproximateCreationDateTime")
    return ChangeRecord(
        operation=operation,
        ttl_removal=operation == "REMOVE" and record.get("userIdentity") == TTL_IDENTITY,
        sequence_number=sequence_number,
        partition=partition_of(keys),
        # "2015-06-27T00:48:05.899" -> "20150627T004805899": no colons in object keys.
        stream_label=re.sub(r"[^0-9A-Za-z]", "", match.group(2)),
        keys=keys,
        new_image=new_image,
        old_image=old_image,
        approximate_creation_time=(
            None if created is None else datetime.fromtimestamp(float(created), tz=UTC)
        ),
        event_id=record.get("eventID"),
    )


@dataclass
class Group:
    partition: Partition
    records: list[ChangeRecord] = field(default_factory=list)

    @property
    def first(self) -> int:
        return self.records[0].sequence


def group(records: Iterable[ChangeRecord]) -> list[Group]:
    """Records by partition, each group in sequence order; groups by their first record."""
    groups: dict[Partition, Group] = {}
    for record in sorted(records, key=lambda r: r.sequence):
        groups.setdefault(record.partition, Group(record.partition)).records.append(record)
    return sorted(groups.values(), key=lambda g: g.first)


def object_key(prefix: str, records: Sequence[ChangeRecord]) -> str:
    first = records[0]
    return (
        f"{prefix}dataset={first.partition.dataset}/day={first.partition.day.isoformat()}/"
        f"{first.stream_label}-{first.sequence_number.zfill(SEQUENCE_WIDTH)}.parquet"
    )


def _dynamodb_json(image: dict[str, Any] | None) -> str | None:
    if image is None:
        return None

    def binary(value: Any) -> str:
        if isinstance(value, Binary | bytes | bytearray):
            return base64.b64encode(bytes(value)).decode("ascii")
        raise TypeError(f"{type(value).__name__} is not JSON serializable")

    serialized = {k: _serializer.serialize(v) for k, v in image.items()}
    return json.dumps(serialized, default=binary, sort_keys=True, separators=(",", ":"))


def schema() -> Any:
    import pyarrow as pa

    return pa.schema(
        [
            pa.field("sequence_number", pa.string(), nullable=False),
            pa.field("operation", pa.string(), nullable=False),
            pa.field("ttl_removal", pa.bool_(), nullable=False),
            pa.field("approximate_creation_time", pa.timestamp("ms", tz="UTC")),
            pa.field("event_id", pa.string()),
            pa.field(facts.PARTITION_KEY, pa.string(), nullable=False),
            pa.field(facts.SORT_KEY, pa.string(), nullable=False),
            pa.field("new_image", pa.string()),
            pa.field("old_image", pa.string()),
        ]
    )


def to_parquet(records: Sequence[ChangeRecord]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "sequence_number": [r.sequence_number.zfill(SEQUENCE_WIDTH) for r in records],
            "operation": [r.operation for r in records],
            "ttl_removal": [r.ttl_removal for r in records],
            "approximate_creation_time": [r.approximate_creation_time for r in records],
            "event_id": [r.event_id for r in records],
            facts.PARTITION_KEY: [r.keys[facts.PARTITION_KEY] for r in records],
            facts.SORT_KEY: [r.keys[facts.SORT_KEY] for r in records],
            "new_image": [_dynamodb_json(r.new_image) for r in records],
            "old_image": [_dynamodb_json(r.old_image) for r in records],
        },
        schema=schema(),
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()


class WriteError(Exception):
    """One group's object could not be written (a partial failure, not the batch's)."""

    def __init__(self, group: Group, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.group, self.cause = group, cause


@dataclass
class SinkResult:
    response: dict[str, list[dict[str, str]]]  # the partial batch response for Lambda
    written: list[str]  # keys of the objects this attempt left in the store
    deleted: list[str]
    failed_at: str | None  # the checkpoint reported back, if any
    errors: list[str]  # one line per failed write or unreadable record, for the log


def sink_batch(
    event: Mapping[str, Any], store: ObjectStore, prefix: str, max_workers: int = 8
) -> SinkResult:
    """Write one batch of stream records (Lambda's event) as one object per partition."""
    records: list[ChangeRecord] = []
    errors: list[str] = []
    cut: int | None = None  # the smallest sequence number that must be retried
    raw = event.get("Records") or []
    for item in raw:
        sequence_number = _sequence_number(item)  # unreadable: raise, nothing to report
        try:
            records.append(parse_record(item))
        except RecordError as exc:
            errors.append(str(exc))
            cut = int(sequence_number) if cut is None else min(cut, int(sequence_number))
    if cut is not None:
        records = [r for r in records if r.sequence < cut]

    groups = group(records)
    stop = threading.Event()

    def write(g: Group) -> str | None:
        # Groups start in order of their first record: once one failed, a later one would
        # be trimmed away entirely, so it is not written at all.
        if stop.is_set():
            return None
        key = object_key(prefix, g.records)
        try:
            store.put(key, to_parquet(g.records))
        except Exception as exc:  # any failure of one write is a partial failure
            stop.set()
            raise WriteError(g, exc) from exc
        return key

    written: dict[str, Group] = {}
    with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(groups) or 1))) as pool:
        futures = [(g, pool.submit(write, g)) for g in groups]
        for g, future in futures:
            try:
                key = future.result()
            except WriteError as exc:
                errors.append(f"{object_key(prefix, g.records)}: {exc.cause!r}")
                cut = g.first if cut is None else min(cut, g.first)
                continue
            if key is not None:
                written[key] = g

    deleted: list[str] = []
    if cut is not None:
        try:
            for key, g in list(written.items()):
                keep = [r for r in g.records if r.sequence < cut]
                if len(keep) == len(g.records):
                    continue
                if keep:
                    store.put(key, to_parquet(keep))
                else:
                    store.delete(key)
                    deleted.append(key)
                    del written[key]
        except Exception as exc:
            raise TrimError(
                f"could not trim the objects of a partial failure at {cut}: {exc!r}"
            ) from exc

    failed_at = None if cut is None else _delivered(raw, cut)
    return SinkResult(
        response={
            "batchItemFailures": [] if failed_at is None else [{"itemIdentifier": failed_at}]
        },
        written=sorted(written),
        deleted=deleted,
        failed_at=failed_at,
        errors=errors,
    )


def _delivered(raw: Iterable[Mapping[str, Any]], sequence: int) -> str:
    """The sequence number as Lambda delivered it (the item identifier must match it)."""
    return next(s for s in map(_sequence_number, raw) if int(s) == sequence)
