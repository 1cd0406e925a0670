"""Record ids (UUIDv7) and the table's key design: day buckets x write shards, week ranges."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone

import pytest

from headwater.records import keys

T = datetime(2026, 12, 1, 9, 30, 12, 345678, tzinfo=UTC)


def test_id_layout_version_variant_and_time():
    record_id = keys.new_id(T, random=lambda n: b"\xff" * n)
    value = uuid.UUID(record_id)
    assert value.version == 7 and value.variant == uuid.RFC_4122
    assert value.int >> 80 == int(T.timestamp() * 1000), "48 bits of Unix milliseconds"
    assert keys.is_id(record_id) and record_id == record_id.lower()
    assert keys.id_time(record_id) == T.replace(microsecond=345000)
    zero = keys.new_id(T, random=lambda n: b"\x00" * n)
    assert uuid.UUID(zero).version == 7 and keys.is_id(zero)
    assert not keys.is_id(str(uuid.uuid4())) and not keys.is_id(record_id.upper())
    assert not keys.is_id("not-an-id")


def test_ids_sort_by_time():
    instants = [T + timedelta(milliseconds=i * 7) for i in range(200)]
    ids = [keys.new_id(t) for t in instants]
    assert sorted(ids) == ids
    assert [keys.id_time(i) for i in ids] == [
        t.replace(microsecond=t.microsecond // 1000 * 1000) for t in instants
    ]


def test_shards_are_roughly_uniform():
    counts = Counter(keys.shard_of(keys.new_id(T), 4) for _ in range(8000))
    assert sorted(counts) == [0, 1, 2, 3]
    assert all(1700 < n < 2300 for n in counts.values()), counts


def test_record_key_from_the_id():
    record_id = keys.new_id(T)
    key = keys.record_key("orders", record_id, 4)
    assert key == {"pk": f"orders#2026-12-01#{keys.shard_of(record_id, 4)}", "id": record_id}
    with pytest.raises(ValueError, match="not a record id"):
        keys.record_key("orders", "x", 4)


def covered(ranges, dataset, record_id, shards):
    """Whether a record would be read by one of the Queries."""
    pk = keys.record_key(dataset, record_id, shards)["pk"]
    return any(r.pk == pk and r.low <= record_id <= r.high for r in ranges)


def test_key_ranges_cover_a_week_exactly_with_partial_first_and_last_days():
    # A week in a zone 5 hours behind UTC: [Mon 00:00 -05:00, next Mon 00:00 -05:00).
    zone = timezone(timedelta(hours=-5))
    start = datetime(2026, 11, 23, tzinfo=zone)
    end = start + timedelta(days=7)
    ranges = list(keys.key_ranges("orders", start, end, 4))
    assert len(ranges) == 8 * 4, "8 UTC days touched, 4 shards each"
    assert len({r.pk for r in ranges}) == 32
    first, last = ranges[0], ranges[-1]
    assert first.pk == "orders#2026-11-23#0" and keys.id_time(first.low) == start
    assert last.pk == "orders#2026-11-30#3"
    assert keys.id_time(last.high) == end - timedelta(milliseconds=1)
    edges = [start, start + timedelta(hours=20), end - timedelta(milliseconds=1)]
    for instant in edges:
        for _ in range(20):
            assert covered(ranges, "orders", keys.new_id(instant), 4), instant
    for instant in (start - timedelta(milliseconds=1), end):
        for _ in range(20):
            assert not covered(ranges, "orders", keys.new_id(instant), 4), instant
    assert not covered(ranges, "other", keys.new_id(start + timedelta(hours=1)), 4)


def test_key_ranges_of_a_utc_week_and_bad_arguments():
    start = datetime(2026, 11, 23, tzinfo=UTC)
    ranges = list(keys.key_ranges("orders", start, start + timedelta(days=7), 2))
    assert len(ranges) == 14
    assert {r.low[:13] for r in ranges[:2]} == {keys.lowest_id(start)[:13]}
    assert list(keys.key_ranges("orders", start, start, 2)) == []
    with pytest.raises(ValueError, match="aware"):
        list(keys.key_ranges("orders", start.replace(tzinfo=None), start, 2))


def test_rfc3339_is_utc_with_z_and_milliseconds():
    assert keys.rfc3339(T) == "2026-12-01T09:30:12.345Z"
    plus_two = T.astimezone(timezone(timedelta(hours=2)))
    assert keys.rfc3339(plus_two) == "2026-12-01T09:30:12.345Z"
    assert keys.rfc3339(T.replace(microsecond=0)) == "2026-12-01T09:30:12.000Z"
    with pytest.raises(ValueError, match="aware"):
        keys.rfc3339(T.replace(tzinfo=None))
