"""Record ids and the table's key design.

Ids are UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then random bits, so ids sort by time
as strings and an id alone says when its record arrived. The table's keys follow from the id:

- partition key ``pk = "<dataset>#<YYYY-MM-DD>#<shard>"``: the record's UTC day (from the id's
  time) and a write shard (from the id's random bits, uniform over ``shards``). A day's writes
  spread over ``shards`` partition keys instead of one hot key; a week of one dataset is
  7 x ``shards`` Queries (8 x when the week is in a zone other than UTC), never a Scan.
- sort key ``id``: the UUIDv7 itself, so a Query with ``id BETWEEN lo AND hi`` selects a time
  range inside a day, and GET /records/{dataset}/{id} is one GetItem (day and shard computed).
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

PARTITION_KEY = "pk"
SORT_KEY = "id"

_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\Z")
_RAND_B_BITS = 62
_RAND_B_MASK = (1 << _RAND_B_BITS) - 1


def _uuid7(ms: int, rand_a: int, rand_b: int) -> str:
    value = (ms << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b
    return str(uuid.UUID(int=value))


def new_id(now: datetime | None = None, random: Callable[[int], bytes] = os.urandom) -> str:
    """A UUIDv7 for a record received at ``now`` (default: the current time)."""
    instant = now if now is not None else datetime.now(UTC)
    ms = int(instant.timestamp() * 1000)
    bits = int.from_bytes(random(10), "big")  # 80 random bits: 12 for rand_a, 62 for rand_b
    return _uuid7(ms, (bits >> _RAND_B_BITS) & 0xFFF, bits & _RAND_B_MASK)


def is_id(text: str) -> bool:
    """True for a canonical (lower-case, hyphenated) UUIDv7, the only form ids are issued in."""
    return bool(_ID.match(text))


def id_time(record_id: str) -> datetime:
    """The instant (millisecond precision, UTC) a UUIDv7 encodes."""
    ms = uuid.UUID(record_id).int >> 80
    return datetime.fromtimestamp(ms / 1000, UTC)


def shard_of(record_id: str, shards: int) -> int:
    """The write shard of an id: its random bits modulo the dataset's shard count."""
    return (uuid.UUID(record_id).int & _RAND_B_MASK) % shards


def partition_key(dataset: str, day: date, shard: int) -> str:
    return f"{dataset}#{day.isoformat()}#{shard}"


def record_key(dataset: str, record_id: str, shards: int) -> dict[str, str]:
    """The table key of a record (raises ValueError for a string that is not an id)."""
    if not is_id(record_id):
        raise ValueError(f"{record_id!r} is not a record id")
    day = id_time(record_id).date()
    return {
        PARTITION_KEY: partition_key(dataset, day, shard_of(record_id, shards)),
        SORT_KEY: record_id,
    }


def lowest_id(instant: datetime) -> str:
    """The smallest id of ``instant``'s millisecond: a Query's inclusive lower bound."""
    return _uuid7(int(instant.timestamp() * 1000), 0, 0)


def highest_id(instant: datetime) -> str:
    """The largest id of ``instant``'s millisecond: a Query's inclusive upper bound."""
    return _uuid7(int(instant.timestamp() * 1000), 0xFFF, _RAND_B_MASK)


@dataclass(frozen=True)
class KeyRange:
    """One Query: a partition key and the inclusive id bounds inside it."""

    pk: str
    low: str
    high: str


def key_ranges(dataset: str, start: datetime, end: datetime, shards: int) -> Iterator[KeyRange]:
    """The Queries that read every record received in [start, end): one per UTC day touched
    and shard, bounded by ids so a partial first or last day reads only its part."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be aware datetimes")
    if end <= start:
        return
    last = end - timedelta(milliseconds=1)
    day = start.astimezone(UTC).date()
    while day <= last.astimezone(UTC).date():
        day_start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        low = lowest_id(max(start, day_start))
        high = highest_id(min(last, day_start + timedelta(days=1, milliseconds=-1)))
        for shard in range(shards):
            yield KeyRange(partition_key(dataset, day, shard), low, high)
        day += timedelta(days=1)


def rfc3339(instant: datetime) -> str:
    """RFC 3339 in UTC with ``Z`` and milliseconds: ``2026-12-02T03:11:13.123Z``."""
    if instant.tzinfo is None:
        raise ValueError("an aware datetime is required")
    utc = instant.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
