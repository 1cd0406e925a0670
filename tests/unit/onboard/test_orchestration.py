"""The onboard run, message by message: dispatcher, worker steps, checkpoints, completion.

The state table, bucket and queues are moto's, parts are written by the real PartWriter and
S3Store; the source is an in-memory extractor with the PostgreSQL stream's semantics
(tests/integration/onboard runs the same flow on a real server).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from moto import mock_aws

from headwater.onboard import marks, worker
from headwater.onboard.declarations import UndeclaredTable
from headwater.onboard.dispatcher import dispatch, split_ranges
from headwater.onboard.messages import WorkMessage, parse_dispatch_event, parse_work_message
from headwater.onboard.runs import RunStore
from headwater.onboard.s3_store import S3Store
from tests.support.onboard import (
    BUCKET,
    Cloud,
    DroppingContext,
    FakeExtractor,
    pump,
    source,
)

SOURCE = source(
    """
[source]
name = "shop"
engine = "postgresql"
description = "test"
target_prefix = "shop/"

[[tables]]
name = "public.events"
ranges = 3

[[tables]]
name = "public.empty_table"

[[tables]]
name = "public.orders"
mode = "incremental"
cursor = "updated_at"
lookback_seconds = 60

[[schemas]]
name = "sales"
include = ["*"]
exclude = ["tmp_*"]
"""
)
T0 = datetime(2026, 12, 1, 12, tzinfo=UTC)
EVENT = {"source": "shop", "scheduled_time": "2026-12-02T02:00:00Z"}
RUN_ID = "20261202T020000Z"


def events_table(n: int) -> pa.Table:
    return pa.table(
        {
            "id": pa.array(range(1, n + 1), pa.int64()),
            "kind": pa.array([f"k{i % 7}" for i in range(n)], pa.string()),
            "amount": pa.array([i * 0.5 for i in range(n)], pa.float64()),
        }
    )


def orders_table(rows: list[tuple[int, datetime]]) -> pa.Table:
    return pa.table(
        {
            "id": pa.array([r[0] for r in rows], pa.int64()),
            "updated_at": pa.array([r[1] for r in rows], pa.timestamp("us", tz="UTC")),
        }
    )


def tables(events: int = 1000, orders: list | None = None) -> dict[str, Any]:
    empty = pa.table({"id": pa.array([], pa.int32()), "v": pa.array([], pa.string())})
    orders = (
        orders if orders is not None else [(i, T0 + timedelta(minutes=i)) for i in range(1, 51)]
    )
    return {
        "public.events": (events_table(events), ("id",)),
        "public.empty_table": (empty, ("id",)),
        "public.orders": (orders_table(orders), ("id",)),
        "sales.daily": (events_table(10), ("id",)),
        "sales.tmp_scratch": (events_table(5), ("id",)),
    }


@pytest.fixture
def cloud(monkeypatch: pytest.MonkeyPatch):
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield Cloud.create()


class Harness:
    """Dispatch and worker steps wired to moto, the way the handlers wire them."""

    def __init__(self, cloud: Cloud, extractor: FakeExtractor, **config: Any) -> None:
        self.cloud = cloud
        self.extractor = extractor
        self.events: list[dict[str, Any]] = []
        self.dlq: list[str] = []
        self.config = worker.Config(
            **{"part_bytes": 4000, "batch_rows": 100, "reserve_ms": 0, **config}
        )
        self.context = DroppingContext()
        self.outcomes: list[worker.Outcome] = []
        self.bodies: list[str] = []

    def ports(self) -> worker.Ports:
        cloud = self.cloud
        return worker.Ports(
            state=cloud.state,
            store=S3Store(cloud.s3, BUCKET),
            send_work=lambda body: cloud.sqs.send_message(
                QueueUrl=cloud.work_url, MessageBody=body
            ),
            send_dlq=self.dlq.append,
            put_event=self.events.append,
        )

    def dispatch(self, event: dict[str, Any] = EVENT, at: datetime | None = None):
        return dispatch(
            parse_dispatch_event(event),
            source=SOURCE,
            extractor=self.extractor,
            state=self.cloud.state,
            send=lambda body: self.cloud.sqs.send_message(
                QueueUrl=self.cloud.work_url, MessageBody=body
            ),
        )

    def step(self, body: str, receive_count: int = 1) -> worker.Outcome:
        self.bodies.append(body)
        outcome = worker.process(
            parse_work_message(body),
            source=SOURCE,
            extractor=lambda: self.extractor,
            ports=self.ports(),
            config=self.config,
            remaining_ms=self.context.get_remaining_time_in_millis,
            receive_count=receive_count,
        )
        self.outcomes.append(outcome)
        return outcome

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        failures = []
        for record in event["Records"]:
            try:
                self.step(record["body"], int(record["attributes"]["ApproximateReceiveCount"]))
            except Exception:
                failures.append({"itemIdentifier": record["messageId"]})
        return {"batchItemFailures": failures}

    def run(self) -> int:
        self.dispatch()
        return pump(self.cloud, self.invoke)


def landed_ids(cloud: Cloud, table: str, run_id: str = RUN_ID) -> list[int]:
    manifest = cloud.get_json(f"shop/{table}/run={run_id}/_manifest.json")
    ids: list[int] = []
    for f in manifest["files"]:
        body = cloud.s3.get_object(Bucket=BUCKET, Key=f["key"])["Body"].read()
        part = pq.read_table(pa.BufferReader(body))
        assert part.num_rows == f["rows"]
        ids += part.column("id").to_pylist()
    return ids


def test_split_ranges_covers_the_key_with_open_ends():
    specs = split_ranges(1, 1000, 3)
    from headwater.onboard.positions import decode_value

    bounds = [(decode_value(s.lo), decode_value(s.hi)) for s in specs]
    assert bounds == [(None, 335), (335, 669), (669, None)]
    assert split_ranges(None, None, 4) == split_ranges(5, 5, 1)
    assert len(split_ranges(1, 2, 8)) == 2
    with pytest.raises(ValueError, match="single integer key"):
        split_ranges("a", "z", 2)


def test_a_run_lands_every_table_and_completes_once(cloud: Cloud):
    h = Harness(cloud, FakeExtractor(tables()))
    h.run()
    # Named tables plus the schema's matches (tmp_* excluded).
    assert sorted(landed_ids(cloud, "public.events")) == list(range(1, 1001))
    assert len(set(landed_ids(cloud, "public.events"))) == 1000
    assert landed_ids(cloud, "sales.daily") == list(range(1, 11))
    assert not cloud.objects("shop/sales.tmp_scratch/")
    # Range k numbers its parts from k * 10000; 3 ranges of a 1000-row table.
    parts = [k for k in cloud.objects("shop/public.events/") if k.endswith(".parquet")]
    assert {k.split("part-")[1][:1] for k in parts} == {"0", "1", "2"}
    # The empty table: recorded with 0 rows, a manifest and no data file.
    empty = cloud.get_json(f"shop/public.empty_table/run={RUN_ID}/_manifest.json")
    assert (empty["rows"], empty["files"]) == (0, [])
    assert list(cloud.objects("shop/public.empty_table/")) == [
        f"shop/public.empty_table/run={RUN_ID}/_manifest.json"
    ]
    manifest = cloud.get_json(f"shop/public.events/run={RUN_ID}/_manifest.json")
    assert manifest["rows"] == 1000 and manifest["mode"] == "full"
    assert manifest["schema"] == [
        {"name": "id", "type": "int64"},
        {"name": "kind", "type": "string"},
        {"name": "amount", "type": "double"},
    ]
    assert manifest["bytes"] == sum(f["bytes"] for f in manifest["files"])
    # Exactly one completion: one event, one summary.
    assert sum(o.run_completed for o in h.outcomes) == 1
    (detail,) = h.events
    assert detail == {
        "source": "shop",
        "run_id": RUN_ID,
        "tables": 4,
        "succeeded": 4,
        "failed": 0,
        "rows": 1060,
        "files": detail["files"],
        "bytes": detail["bytes"],
        "failures": [],
    }
    summary = cloud.get_json(f"shop/_runs/run={RUN_ID}/summary.json")
    assert summary["status"] == "completed" and summary["rows"] == 1060
    assert {t["table"]: t["rows"] for t in summary["tables"]}["public.empty_table"] == 0
    # Every message delivered again (SQS is at least once): nothing counted twice, no event.
    runs = RunStore(cloud.state, "shop")
    before = runs.get_run(RUN_ID)
    for body in list(h.bodies):
        assert h.step(body).action in ("ignored", "stale")
    assert runs.get_run(RUN_ID) == before and len(h.events) == 1
    assert (before["succeeded"], before["rows"], len(before["finished"])) == (4, 1060, 4)


def test_a_re_fire_of_the_same_scheduled_time_sends_nothing_finished(cloud: Cloud):
    h = Harness(cloud, FakeExtractor(tables()))
    first = h.dispatch()
    assert (first.created, first.tables, first.sent) == (True, 4, 6)
    again = h.dispatch()
    assert (again.created, again.sent) == (False, 0)
    assert len(cloud.drain(cloud.work_url)) == 6
    # A dispatcher that stopped after writing the run sends what it had not sent.
    runs = RunStore(cloud.state, "shop")
    runs.table.update_item(
        Key={"pk": f"run#shop#{RUN_ID}", "sk": "table#public.orders#range#0"},
        UpdateExpression="SET sent = :f",
        ExpressionAttributeValues={":f": False},
    )
    replay = h.dispatch()
    assert replay.sent == 1
    (body,) = cloud.drain(cloud.work_url)
    assert json.loads(body)["table"] == "public.orders"


def test_a_tiny_time_budget_continues_the_table_across_invocations(cloud: Cloud):
    h = Harness(cloud, FakeExtractor(tables(events=1000)))
    # Two batches of 100 rows per invocation, then the budget is spent.
    h.config = worker.Config(part_bytes=10**9, batch_rows=100, reserve_ms=10_000)
    h.context = DroppingContext(start_ms=30_000, step_ms=10_000, free=2)

    def invoke(event):
        h.context.calls = 0
        return h.invoke(event)

    h.dispatch()
    invocations = pump(cloud, invoke)
    continued = [o for o in h.outcomes if o.action == "continued"]
    assert len(continued) >= 3
    ids = landed_ids(cloud, "public.events")
    assert sorted(ids) == list(range(1, 1001)) and len(ids) == len(set(ids))
    # Every continuation closed its part: range 0's parts are numbered without a gap.
    manifest = cloud.get_json(f"shop/public.events/run={RUN_ID}/_manifest.json")
    numbers = [int(f["key"][-13:-8]) for f in manifest["files"] if "part-0" in f["key"]]
    assert numbers == list(range(len(numbers)))
    assert invocations == len(h.outcomes)


def test_a_worker_killed_mid_table_reruns_without_duplicates(cloud: Cloud):
    extractor = FakeExtractor(tables(events=1000), fail_after=3)
    h = Harness(cloud, extractor, part_bytes=1)  # one part per batch
    h.dispatch()
    bodies = cloud.drain(cloud.work_url)
    events0 = next(b for b in bodies if '"public.events"' in b and '"range":0' in b)
    with pytest.raises(ConnectionError):
        h.step(events0)
    written = [k for k in cloud.objects("shop/public.events/") if k.endswith(".parquet")]
    assert len(written) == 3  # parts of the failed attempt are on S3
    # The failure is recorded (redacted) on the range and its lease released.
    state = RunStore(cloud.state, "shop").get_range(RUN_ID, "public.events", 0)
    assert "ConnectionError" in state["last_error"] and "lease_id" not in state
    extractor.fail_after = None
    # Range 0 holds 334 rows: the retry reads batches of 200, writes 2 parts where the first
    # attempt had written 3, and the first attempt's third part must go.
    h.config = worker.Config(part_bytes=1, batch_rows=200, reserve_ms=0)
    assert h.step(events0, receive_count=2).action == "range_done"
    for body in bodies:
        if body != events0:
            h.step(body)
    ids = landed_ids(cloud, "public.events")
    assert sorted(ids) == list(range(1, 1001)) and len(ids) == len(set(ids))
    manifest = cloud.get_json(f"shop/public.events/run={RUN_ID}/_manifest.json")
    listed = {f["key"] for f in manifest["files"]}
    on_s3 = {k for k in cloud.objects("shop/public.events/") if k.endswith(".parquet")}
    assert listed == on_s3


def test_a_table_failing_past_max_attempts_is_failed_and_the_run_completes(cloud: Cloud):
    extractor = FakeExtractor(tables(events=100), fail_after=None)
    h = Harness(cloud, extractor, max_attempts=2)
    original = extractor.stream

    def broken(plan, **kwargs):
        if plan.key == ("id",) and plan.table.num_rows == 10:  # sales.daily
            raise RuntimeError(f"permission denied for table daily (password={'pw'})")
        return original(plan, **kwargs)

    extractor.stream = broken
    h.config = worker.Config(
        part_bytes=4000, batch_rows=100, reserve_ms=0, max_attempts=2, secrets=("pw",)
    )
    h.run()
    (detail,) = h.events
    assert (detail["tables"], detail["succeeded"], detail["failed"]) == (4, 3, 1)
    (failure,) = detail["failures"]
    assert failure["table"] == "sales.daily"
    assert "permission denied" in failure["error"] and "=pw" not in failure["error"]
    # The worker put the message on the DLQ itself and reported success.
    (dead,) = h.dlq
    assert json.loads(dead)["table"] == "sales.daily"
    assert [o.action for o in h.outcomes].count("failed") == 1
    summary = cloud.get_json(f"shop/_runs/run={RUN_ID}/summary.json")
    assert {t["table"]: t["status"] for t in summary["tables"]}["sales.daily"] == "failed"


def test_a_stale_step_is_ignored_and_a_lost_continuation_is_sent_again(cloud: Cloud):
    h = Harness(cloud, FakeExtractor(tables(events=1000)))
    h.config = worker.Config(part_bytes=10**9, batch_rows=100, reserve_ms=10_000)
    h.context = DroppingContext(start_ms=20_000, step_ms=10_000, free=1)
    h.dispatch()
    bodies = cloud.drain(cloud.work_url)
    first = next(b for b in bodies if '"public.events"' in b and '"range":0' in b)
    assert h.step(first).action == "continued"
    (continuation,) = cloud.drain(cloud.work_url)
    assert json.loads(continuation)["seq"] == 1
    # The same step delivered again: already done, its continuation was sent.
    assert h.step(first).action == "stale"
    assert cloud.drain(cloud.work_url) == []
    # A worker that stopped between its checkpoint and the send: the redelivery sends it.
    RunStore(cloud.state, "shop").table.update_item(
        Key={"pk": f"run#shop#{RUN_ID}", "sk": "table#public.events#range#0"},
        UpdateExpression="SET sent = :f",
        ExpressionAttributeValues={":f": False},
    )
    assert h.step(first).action == "resent"
    assert cloud.drain(cloud.work_url) == [continuation]


def test_a_forged_message_reads_nothing(cloud: Cloud):
    extractor = FakeExtractor(tables())
    h = Harness(cloud, extractor)
    h.dispatch()
    cloud.drain(cloud.work_url)
    forged = WorkMessage(RUN_ID, "shop", "pg_catalog.pg_authid", 0, 1, 0).body()
    with pytest.raises(UndeclaredTable):
        h.step(forged)
    excluded = WorkMessage(RUN_ID, "shop", "sales.tmp_scratch", 0, 1, 0).body()
    with pytest.raises(UndeclaredTable):
        h.step(excluded)
    # Declared, but not a table of any run: rejected before any read.
    no_run = WorkMessage("20300101T000000Z", "shop", "public.events", 0, 3, 0).body()
    with pytest.raises(worker.Rejected):
        h.step(no_run)
    wrong_ranges = WorkMessage(RUN_ID, "shop", "public.events", 0, 1, 0).body()
    with pytest.raises(worker.Rejected):
        h.step(wrong_ranges)
    ahead = WorkMessage(RUN_ID, "shop", "public.events", 0, 3, 5).body()
    with pytest.raises(worker.Rejected):
        h.step(ahead)
    assert extractor.batches == 0 and not cloud.objects()


def _orders_run(cloud: Cloud, rows: list, run_at: str, fail: bool = False) -> Harness:
    extractor = FakeExtractor(tables(events=10, orders=rows), fail_after=0 if fail else None)
    only_orders = {"public.orders": extractor.tables["public.orders"]}
    extractor.tables = only_orders
    h = Harness(cloud, extractor, max_attempts=1)
    global SOURCE
    saved = SOURCE
    SOURCE = source(
        """
[source]
name = "shop"
engine = "postgresql"
description = "test"
target_prefix = "shop/"

[[tables]]
name = "public.orders"
mode = "incremental"
cursor = "updated_at"
lookback_seconds = 60
"""
    )
    try:
        h.dispatch({"source": "shop", "scheduled_time": run_at})
        pump(cloud, h.invoke)
    finally:
        SOURCE = saved
    return h


def test_incremental_runs_read_new_and_updated_rows_and_a_failure_keeps_the_mark(cloud: Cloud):
    rows = [(i, T0 + timedelta(minutes=i)) for i in range(1, 51)]
    _orders_run(cloud, rows, "2026-12-02T02:00:00Z")
    assert sorted(landed_ids(cloud, "public.orders")) == list(range(1, 51))
    assert marks.get(cloud.state, "shop", "public.orders") == T0 + timedelta(minutes=50)
    # Row 10 updated, row 51 added; row 50 is inside the 60 s lookback (cursor above the mark
    # minus 60 s), the rest are not.
    rows[9] = (10, T0 + timedelta(hours=2))
    rows.append((51, T0 + timedelta(hours=1)))
    # A failed run reads nothing it keeps and never moves the mark.
    failed = _orders_run(cloud, rows, "2026-12-03T02:00:00Z", fail=True)
    assert failed.events[0]["failed"] == 1
    assert marks.get(cloud.state, "shop", "public.orders") == T0 + timedelta(minutes=50)
    _orders_run(cloud, rows, "2026-12-04T02:00:00Z")
    assert sorted(landed_ids(cloud, "public.orders", "20261204T020000Z")) == [10, 50, 51]
    assert marks.get(cloud.state, "shop", "public.orders") == T0 + timedelta(hours=2)
    manifest = cloud.get_json("shop/public.orders/run=20261204T020000Z/_manifest.json")
    assert manifest["mode"] == "incremental"
    assert manifest["since"] == (T0 + timedelta(minutes=49)).isoformat()
    assert manifest["mark"] == (T0 + timedelta(hours=2)).isoformat()
    # A mark never moves backwards.
    assert not marks.advance(cloud.state, "shop", "public.orders", T0, "x")


def test_a_run_with_no_tables_completes_at_once(cloud: Cloud):
    h = Harness(cloud, FakeExtractor({}))
    global SOURCE
    saved = SOURCE
    SOURCE = source(
        """
[source]
name = "shop"
engine = "postgresql"
description = "test"

[[schemas]]
name = "nothing_here"
"""
    )
    try:
        result = h.dispatch()
    finally:
        SOURCE = saved
    assert (result.tables, result.sent, result.completed) == (0, 0, True)
    run = RunStore(cloud.state, "shop").get_run(RUN_ID)
    assert run["status"] == "completed"
    assert cloud.drain(cloud.work_url) == []


def test_a_declared_table_missing_from_the_database_fails_in_the_run_not_the_dispatch(
    cloud: Cloud,
):
    extractor = FakeExtractor({k: v for k, v in tables().items() if k != "public.events"})
    h = Harness(cloud, extractor, max_attempts=1)
    result = h.dispatch()
    # public.events (declared with ranges = 3) cannot be described: one range, failed later.
    assert result.sent == 4
    pump(cloud, h.invoke)
    (detail,) = h.events
    assert (detail["succeeded"], detail["failed"]) == (3, 1)
    assert detail["failures"][0]["table"] == "public.events"
    assert "KeyError" in detail["failures"][0]["error"]


def test_one_invocation_at_a_time_works_on_a_range(cloud: Cloud):
    from headwater.onboard.runs import Busy, LeaseLost

    h = Harness(cloud, FakeExtractor(tables()))
    h.dispatch()
    runs = RunStore(cloud.state, "shop")
    runs.claim(RUN_ID, "public.orders", 0, 0, "first", 60)
    # A duplicate delivery of the same step while the first works on it: retried later.
    with pytest.raises(Busy):
        runs.claim(RUN_ID, "public.orders", 0, 0, "second", 60)
    # Only the holder records a checkpoint.
    fields = dict(
        seq=0, done=False, after=None, parts=[], rows=0, nbytes=0, seconds=0.0,
        max_cursor=None, schema=None,
    )  # fmt: skip
    with pytest.raises(LeaseLost):
        runs.checkpoint(RUN_ID, "public.orders", 0, "second", **fields)
    runs.release(RUN_ID, "public.orders", 0, "first", "ValueError: boom")
    runs.claim(RUN_ID, "public.orders", 0, 0, "second", 60)
    runs.checkpoint(RUN_ID, "public.orders", 0, "second", **fields)
    # The step moved on: the old step can no longer be claimed.
    with pytest.raises(LeaseLost):
        runs.claim(RUN_ID, "public.orders", 0, 0, "third", 60)
    # An expired lease (a worker killed by its timeout) is taken over.
    runs.claim(RUN_ID, "public.orders", 0, 1, "fourth", -1)
    runs.claim(RUN_ID, "public.orders", 0, 1, "fifth", 60)
