"""The weekly summary against moto's in-process DynamoDB and S3: counts, Parquet content,
bounds, reruns, parts, and what the read costs."""

from __future__ import annotations

import io
import json
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import boto3
import pyarrow.parquet as pq
import pytest
from moto import mock_aws

from headwater.records import keys
from headwater.records.summary import Tuning, summarise_week
from headwater.records.weeks import parse_week
from tests.unit.records.summary_support import (
    BUCKET,
    EVENTS,
    OTHER,
    PREFIX,
    TABLE,
    create,
    put_records,
)

BERLIN = ZoneInfo("Europe/Berlin")
WEEK = parse_week("2026-W48")  # Berlin: 2026-11-22T23:00Z .. 2026-11-29T23:00Z


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        s3 = boto3.client("s3", region_name="us-east-1")
        create(dynamodb, s3)
        table = boto3.resource("dynamodb", region_name="us-east-1").Table(TABLE)
        yield dynamodb, s3, table


def run(aws, dataset=EVENTS, week=WEEK, tz=BERLIN, tuning=None):
    dynamodb, s3, _ = aws
    return summarise_week(
        dynamodb=dynamodb,
        s3=s3,
        table=TABLE,
        bucket=BUCKET,
        prefix=PREFIX,
        dataset=dataset,
        week=week,
        tz=tz,
        tuning=tuning,
    )


def object_keys(s3) -> list[str]:
    listing = s3.list_objects_v2(Bucket=BUCKET, Prefix=PREFIX)
    return sorted(o["Key"] for o in listing.get("Contents", []))


def body(s3, key: str) -> bytes:
    return s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()


def read_parts(s3, result) -> list[dict]:
    rows: list[dict] = []
    for part in result.document["parts"]:
        rows.extend(pq.read_table(io.BytesIO(body(s3, part["key"]))).to_pylist())
    return rows


def test_counts_content_and_bounds(aws) -> None:
    _, s3, table = aws
    start, end = (b.astimezone(UTC) for b in WEEK.bounds(BERLIN))
    full = {
        "name": "full",
        "count": 9007199254740993,  # above 2**53: must stay exact (no float on the way)
        "ratio": 0.1,
        "ok": False,
        "day": "2026-02-28",
        "at": "2026-11-24T10:15:30.123456+01:00",
    }
    inside = put_records(
        table,
        EVENTS,
        [
            (start, "key-a", full),  # the first millisecond of the week
            (start + timedelta(hours=1), "key-b", {"name": "sparse"}),  # optional fields absent
            (
                start + timedelta(days=2, hours=5),
                "key-a",
                {"name": "mid", "at": "2026-11-25T01:02:03z"},
            ),
            (end - timedelta(milliseconds=1), "key-b", {"name": "last", "ratio": 3}),
        ],
    )
    put_records(
        table,
        EVENTS,
        [
            (start - timedelta(milliseconds=1), "key-a", {"name": "before"}),
            (end, "key-a", {"name": "after"}),
        ],
    )
    put_records(table, OTHER, [(start + timedelta(hours=2), "key-a", {"name": "elsewhere"})])

    result = run(aws)

    doc = result.document
    assert doc["total"] == 4
    # Berlin days: Monday 00:00 local is 23:00Z Sunday; the last millisecond is Sunday local.
    assert doc["per_day"] == {
        "2026-11-23": 2,
        "2026-11-24": 0,
        "2026-11-25": 1,
        "2026-11-26": 0,
        "2026-11-27": 0,
        "2026-11-28": 0,
        "2026-11-29": 1,
    }
    assert doc["per_producer"] == {"key-a": 2, "key-b": 2}
    assert doc["start"] == "2026-11-22T23:00:00.000Z" and doc["end"] == "2026-11-29T23:00:00.000Z"
    assert doc["week"] == "2026-W48" and doc["time_zone"] == "Europe/Berlin"
    stored = json.loads(body(s3, "summaries/events/week=2026-W48/summary.json"))
    assert stored == doc

    rows = {r["name"]: r for r in read_parts(s3, result)}
    assert set(rows) == {"full", "sparse", "mid", "last"}
    by_name = {i["record"]["name"]: i for i in inside}
    for name, row in rows.items():
        assert row["id"] == by_name[name]["id"]
        assert row["producer"] == by_name[name]["producer"]
        assert row["received_at"] == keys.id_time(row["id"])
    assert rows["full"]["count"] == 9007199254740993
    assert rows["full"]["ratio"] == 0.1 and rows["full"]["ok"] is False
    assert rows["full"]["day"] == date(2026, 2, 28)
    assert rows["full"]["at"] == datetime(2026, 11, 24, 9, 15, 30, 123456, tzinfo=UTC)
    assert rows["mid"]["at"] == datetime(2026, 11, 25, 1, 2, 3, tzinfo=UTC)
    assert rows["last"]["ratio"] == 3.0 and isinstance(rows["last"]["ratio"], float)
    absent = ("count", "ratio", "ok", "day", "at")
    assert {name: rows["sparse"][name] for name in absent} == dict.fromkeys(absent)
    schema = pq.read_schema(io.BytesIO(body(s3, doc["parts"][0]["key"])))
    assert [str(t) for t in schema.types] == [
        "string",
        "timestamp[us, tz=UTC]",
        "string",
        "string",
        "int64",
        "double",
        "bool",
        "date32[day]",
        "timestamp[us, tz=UTC]",
    ]


def test_reads_only_the_weeks_items(aws) -> None:
    _, _, table = aws
    start, end = (b.astimezone(UTC) for b in WEEK.bounds(BERLIN))
    # 3 records a day over 5 weeks, the week in the middle; the other dataset on the same days.
    first = start - timedelta(days=14)
    rows = [(first + timedelta(hours=8 * i), "p", {"name": str(i)}) for i in range(3 * 35)]
    put_records(table, EVENTS, rows)
    put_records(table, OTHER, rows)
    expected = sum(1 for at, _, _ in rows if start <= at < end)

    result = run(aws)

    assert result.document["total"] == expected == 21
    # Query with id bounds: DynamoDB reads (ScannedCount) exactly the week's items.
    assert result.stats.items_read == expected
    assert result.stats.queries == 8 * EVENTS.shards  # 8 UTC days touched by a Berlin week
    assert result.stats.consumed_capacity > 0


def test_rerun_leaves_the_same_objects_and_removes_stale_parts(aws) -> None:
    _, s3, table = aws
    start, _ = WEEK.bounds(BERLIN)
    put_records(
        table, EVENTS, [(start + timedelta(minutes=i), "p", {"name": f"r{i}"}) for i in range(25)]
    )
    tuning = Tuning(batch_rows=4, part_rows=10)

    first = run(aws, tuning=tuning)
    keys_first = object_keys(s3)
    bodies = {k: body(s3, k) for k in keys_first}
    assert keys_first == [
        "summaries/events/week=2026-W48/part-00000.parquet",
        "summaries/events/week=2026-W48/part-00001.parquet",
        "summaries/events/week=2026-W48/part-00002.parquet",
        "summaries/events/week=2026-W48/summary.json",
    ]
    # Left by an earlier, larger run (or anything else under the week): removed by a rerun.
    stale = "summaries/events/week=2026-W48/part-00007.parquet"
    s3.put_object(Bucket=BUCKET, Key=stale, Body=b"old")
    neighbour = "summaries/events/week=2026-W49/summary.json"
    s3.put_object(Bucket=BUCKET, Key=neighbour, Body=b"{}")

    second = run(aws, tuning=tuning)

    assert object_keys(s3) == sorted([*keys_first, neighbour])
    assert second.deleted == [stale]
    assert second.document == first.document
    # Same items, same Query order, same pyarrow: byte-identical parts and summary.
    assert {k: body(s3, k) for k in keys_first} == bodies


def test_many_records_make_several_bounded_parts(aws) -> None:
    _, s3, table = aws
    start, _ = WEEK.bounds(BERLIN)
    put_records(
        table,
        EVENTS,
        [(start + timedelta(minutes=7 * i), f"p{i % 3}", {"name": str(i)}) for i in range(53)],
    )

    result = run(aws, tuning=Tuning(batch_rows=6, part_rows=20))

    parts = result.document["parts"]
    assert [p["rows"] for p in parts] == [20, 20, 13]
    for part in parts:
        meta = pq.ParquetFile(io.BytesIO(body(s3, part["key"]))).metadata
        assert meta.num_rows == part["rows"]
        groups = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
        assert max(groups) <= 6 and sum(groups) == part["rows"]
    rows = read_parts(s3, result)
    assert sorted(int(r["name"]) for r in rows) == list(range(53))
    assert result.document["per_producer"] == {"p0": 18, "p1": 18, "p2": 17}
    # Export order: day, then shard, then id (Query order), the same on every run.
    order = [(keys.record_key("events", r["id"], EVENTS.shards)["pk"], r["id"]) for r in rows]
    assert order == sorted(
        order, key=lambda k: (k[0].rsplit("#", 2)[1], int(k[0].rsplit("#", 1)[1]), k[1])
    )


def test_empty_week_writes_a_summary_of_zeros_and_no_part(aws) -> None:
    _, s3, table = aws
    start, _ = WEEK.bounds(BERLIN)
    put_records(table, EVENTS, [(start - timedelta(days=1), "p", {"name": "last week"})])

    result = run(aws)

    assert result.document["total"] == 0
    assert set(result.document["per_day"].values()) == {0}
    assert len(result.document["per_day"]) == 7
    assert result.document["per_producer"] == {} and result.document["parts"] == []
    assert object_keys(s3) == ["summaries/events/week=2026-W48/summary.json"]


def test_an_emptied_week_rerun_removes_its_old_parts(aws) -> None:
    _, s3, table = aws
    start, _ = WEEK.bounds(BERLIN)
    written = put_records(table, EVENTS, [(start, "p", {"name": "only"})])
    run(aws)
    assert len(object_keys(s3)) == 2
    table.delete_item(Key={"pk": written[0]["pk"], "id": written[0]["id"]})

    run(aws)

    assert object_keys(s3) == ["summaries/events/week=2026-W48/summary.json"]


def test_dst_week_counts_local_days(aws) -> None:
    _, _, table = aws
    tz = ZoneInfo("Europe/Berlin")
    week = parse_week("2026-W43")  # summer time ends Sunday 2026-10-25: 169 hours
    start, end = (b.astimezone(UTC) for b in week.bounds(tz))
    assert end - start == timedelta(hours=169)
    rows = [
        (start, "p", {"name": "monday 00:00 CEST"}),
        (datetime(2026, 10, 25, 22, 59, tzinfo=UTC), "p", {"name": "sunday 23:59 CET"}),
        (end - timedelta(milliseconds=1), "p", {"name": "last ms"}),
        (end, "p", {"name": "next week"}),
    ]
    put_records(table, EVENTS, rows)

    result = run(aws, week=week, tz=tz)

    assert result.document["total"] == 3
    assert result.document["per_day"]["2026-10-19"] == 1
    assert result.document["per_day"]["2026-10-25"] == 2


def test_a_record_older_than_a_required_field_exports_it_as_null(aws) -> None:
    _, s3, table = aws
    start, _ = WEEK.bounds(BERLIN)
    put_records(table, EVENTS, [(start, "p", {"count": 1})])  # stored before "name" existed

    result = run(aws)

    (row,) = read_parts(s3, result)
    assert row["name"] is None and row["count"] == 1


def test_a_value_the_declaration_does_not_describe_raises(aws) -> None:
    _, s3, table = aws
    start, _ = WEEK.bounds(BERLIN)
    put_records(table, EVENTS, [(start, "p", {"name": "bad", "count": "seven"})])

    with pytest.raises(ValueError, match="field 'count'"):
        run(aws)
    assert object_keys(s3) == []


def test_producer_counts_cover_every_record(aws) -> None:
    _, _, table = aws
    start, _ = WEEK.bounds(BERLIN)
    producers = [f"key-{i % 4}" for i in range(30)]
    put_records(
        table,
        EVENTS,
        [(start + timedelta(hours=i), p, {"name": "x"}) for i, p in enumerate(producers)],
    )
    assert run(aws).document["per_producer"] == dict(sorted(Counter(producers).items()))
