"""Onboard runs on a real PostgreSQL and moto: the handlers end to end, continuation with a tiny
time budget, a worker killed mid-table, incremental runs, forged and malformed inputs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from headwater.handlers import onboard_dispatcher, onboard_worker
from headwater.onboard import marks, worker
from headwater.onboard.declarations import load_sources
from headwater.onboard.dispatcher import dispatch
from headwater.onboard.extractor import PostgresExtractor
from headwater.onboard.messages import WorkMessage, parse_dispatch_event, parse_work_message
from headwater.onboard.postgres import ConnectionSettings
from headwater.onboard.runs import RunStore
from headwater.onboard.s3_store import S3Store
from tests.support.onboard import BUCKET, Cloud, DroppingContext, handler_world, pump

pytestmark = pytest.mark.integration

EVENTS = 20_000
SOURCE_TOML = """
[source]
name = "shop"
engine = "postgresql"
description = "integration test database"
target_prefix = "landing/shop/"

[[tables]]
name = "public.events"
ranges = 2

[[tables]]
name = "public.customers"

[[tables]]
name = "public.empty_table"

[[tables]]
name = "public.orders"
mode = "incremental"
cursor = "updated_at"
lookback_seconds = 600

[[schemas]]
name = "ledger"
include = ["*"]
exclude = ["secret_*"]
"""
SCHEMA = f"""
CREATE TABLE public.events (id bigint PRIMARY KEY, kind text, amount numeric(12,2),
  at timestamptz, note text);
INSERT INTO public.events SELECT g, 'k' || (g % 7), g / 100.0,
  timestamptz '2026-11-01 00:00:00+00' + g * interval '1 second',
  CASE WHEN g % 5 = 0 THEN NULL ELSE 'n' || g END FROM generate_series(1, {EVENTS}) g;
CREATE TABLE public.customers (id int PRIMARY KEY, name text);
INSERT INTO public.customers SELECT g, 'c' || g FROM generate_series(1, 50) g;
CREATE TABLE public.empty_table (id int PRIMARY KEY, v text);
CREATE TABLE public.orders (id bigint PRIMARY KEY, total numeric(12,2),
  updated_at timestamptz NOT NULL);
INSERT INTO public.orders SELECT g, g,
  timestamptz '2026-11-01 00:00:00+00' + g * interval '1 minute' FROM generate_series(1, 200) g;
CREATE SCHEMA ledger;
CREATE TABLE ledger.entries (id int PRIMARY KEY, amount numeric(10,2));
INSERT INTO ledger.entries VALUES (1, 1.5), (2, 'NaN'), (3, 2.25);
CREATE TABLE ledger.secret_keys (id int PRIMARY KEY, v text);
INSERT INTO ledger.secret_keys VALUES (1, 'do not read');
"""
TIME = "2026-12-02T02:00:00Z"
RUN_ID = "20261202T020000Z"


def sql(server: Any, settings: dict[str, Any], text: str) -> None:
    for statement in text.split(";"):
        if statement.strip():
            server.execute(statement, settings["dbname"])


@pytest.fixture
def world(
    postgres_server: Any,
    postgres_db: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> Iterator[dict[str, Any]]:
    sql(postgres_server, postgres_db, SCHEMA)
    declarations = tmp_path / "onboard"
    declarations.mkdir()
    (declarations / "shop.toml").write_text(SOURCE_TOML)
    with handler_world(
        monkeypatch,
        declarations=declarations,
        service=f"onboard-{request.node.name}",
        source_name="shop",
        secret=postgres_db,
        target_prefix="landing/shop/",
        ONBOARD_PART_BYTES="60000",
        ONBOARD_MAX_ATTEMPTS="2",
    ) as deployed:
        yield {
            "cloud": deployed.cloud,
            "server": postgres_server,
            "db": postgres_db,
            "events_url": deployed.events_url,
            "source": load_sources(declarations)["shop"],
        }


def landed(cloud: Cloud, table: str, run_id: str = RUN_ID) -> pa.Table:
    manifest = cloud.get_json(f"landing/shop/{table}/run={run_id}/_manifest.json")
    parts = []
    for f in manifest["files"]:
        body = cloud.s3.get_object(Bucket=BUCKET, Key=f["key"])["Body"].read()
        part = pq.read_table(pa.BufferReader(body))
        assert part.num_rows == f["rows"]
        parts.append(part)
    return pa.concat_tables(parts) if parts else pa.table({})


def every_stored_text(cloud: Cloud) -> str:
    """Everything the run left behind as text: state items, JSON objects, queued messages."""
    items = cloud.state.scan(ConsistentRead=True)["Items"]
    texts = [json.dumps(items, default=str)]
    for key in cloud.objects():
        if key.endswith(".json"):
            texts.append(cloud.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode())
    return "\n".join(texts)


def test_the_handlers_onboard_a_database_and_report_the_run(world, capsys):
    cloud: Cloud = world["cloud"]
    password = world["db"]["password"]
    result = onboard_dispatcher.handler(
        {"source": "shop", "scheduled_time": TIME}, DroppingContext()
    )
    # events (2 ranges), customers, empty_table, orders, ledger.entries; secret_* excluded.
    assert (result["tables"], result["sent"], result["new_run"]) == (5, 6, True)
    bodies: list[str] = []

    def invoke(event: dict[str, Any]) -> dict[str, Any]:
        bodies.extend(r["body"] for r in event["Records"])
        # 900 s at the start (a 90 s reserve), 50 s once the first batch is read: every step
        # writes one batch, checkpoints and continues through the queue.
        return onboard_worker.handler(
            event, DroppingContext(start_ms=900_000, step_ms=850_000, free=2)
        )

    pump(cloud, invoke)
    events = landed(cloud, "public.events")
    ids = events.column("id").to_pylist()
    assert sorted(ids) == list(range(1, EVENTS + 1)) and len(set(ids)) == EVENTS
    assert events.schema.field("amount").type == pa.decimal128(12, 2)
    assert events.column("note").null_count == EVENTS // 5
    manifest = cloud.get_json(f"landing/shop/public.events/run={RUN_ID}/_manifest.json")
    assert manifest["rows"] == EVENTS and len(manifest["files"]) >= 2
    assert {f["key"].split("part-")[1][0] for f in manifest["files"]} == {"0", "1"}
    empty = cloud.get_json(f"landing/shop/public.empty_table/run={RUN_ID}/_manifest.json")
    assert (empty["rows"], empty["files"]) == (0, [])
    assert not [k for k in cloud.objects("landing/shop/public.empty_table/") if "part-" in k]
    assert not cloud.objects("landing/shop/ledger.secret_keys/")
    # ledger.entries holds a numeric NaN: rejected on every attempt, then failed; the run
    # completes all the same and says why.
    summary = cloud.get_json(f"landing/shop/_runs/run={RUN_ID}/summary.json")
    status = {t["table"]: t["status"] for t in summary["tables"]}
    assert status == {
        "ledger.entries": "failed",
        "public.customers": "succeeded",
        "public.empty_table": "succeeded",
        "public.events": "succeeded",
        "public.orders": "succeeded",
    }
    (delivered,) = cloud.drain(world["events_url"])
    event = json.loads(delivered)
    assert (event["source"], event["detail-type"]) == ("headwater.onboard", "Onboard Run Completed")
    detail = event["detail"]
    assert (detail["run_id"], detail["tables"], detail["succeeded"], detail["failed"]) == (
        RUN_ID, 5, 4, 1,
    )  # fmt: skip
    assert detail["rows"] == EVENTS + 50 + 200
    (failure,) = detail["failures"]
    assert failure["table"] == "ledger.entries" and "amount" in failure["error"]
    (dead,) = cloud.drain(cloud.dlq_url)
    assert json.loads(dead)["table"] == "ledger.entries"
    assert RunStore(cloud.state, "shop").get_run(RUN_ID)["status"] == "completed"
    # A re-fire of the same scheduled time finds the run and sends nothing.
    again = onboard_dispatcher.handler(
        {"source": "shop", "scheduled_time": TIME}, DroppingContext()
    )
    assert (again["new_run"], again["sent"]) == (False, 0)
    # The password is nowhere: messages, logs, state, manifests, summary, event.
    out, err = capsys.readouterr()
    assert "onboard: table landed" in out and "onboard: run completed" in out
    for text in (*bodies, out, err, every_stored_text(cloud), delivered):
        assert password not in text
    for body in bodies:
        assert set(json.loads(body)) == {"v", "run_id", "source", "table", "range", "ranges", "seq"}
    steps = {(m["table"], m["range"], m["seq"]) for m in map(json.loads, bodies)}
    assert {("public.events", 0, 1), ("public.events", 1, 1), ("public.customers", 0, 1)} <= steps


def _ports(cloud: Cloud, store: Any = None) -> worker.Ports:
    return worker.Ports(
        state=cloud.state,
        store=store or S3Store(cloud.s3, BUCKET),
        send_work=lambda body: cloud.sqs.send_message(QueueUrl=cloud.work_url, MessageBody=body),
        send_dlq=lambda body: cloud.sqs.send_message(QueueUrl=cloud.dlq_url, MessageBody=body),
        put_event=lambda detail: None,
    )


def _run(
    world: dict[str, Any],
    *,
    when: str = TIME,
    config: worker.Config,
    context: Any = None,
    store: Any = None,
    only: str | None = None,
) -> list[worker.Outcome]:
    """Dispatch and drain the queue through worker.process on the real database; a failing
    step stays on the queue (VisibilityTimeout 0) and comes back with a higher count."""
    cloud: Cloud = world["cloud"]
    source = world["source"]
    connection = ConnectionSettings.from_secret(world["db"])
    with PostgresExtractor(connection) as reader:
        dispatch(
            parse_dispatch_event({"source": "shop", "scheduled_time": when}),
            source=source,
            extractor=reader,
            state=cloud.state,
            send=lambda body: cloud.sqs.send_message(QueueUrl=cloud.work_url, MessageBody=body),
        )
    outcomes: list[worker.Outcome] = []

    def invoke(event: dict[str, Any]) -> dict[str, Any]:
        failures = []
        for record in event["Records"]:
            message = parse_work_message(record["body"])
            if only and message.table != only:
                continue  # the other tables are not this test's subject
            budget = context() if context else DroppingContext()
            try:
                with PostgresExtractor(connection) as reader:
                    outcomes.append(
                        worker.process(
                            message,
                            source=source,
                            extractor=lambda reader=reader: reader,
                            ports=_ports(cloud, store),
                            config=config,
                            remaining_ms=budget.get_remaining_time_in_millis,
                            receive_count=int(record["attributes"]["ApproximateReceiveCount"]),
                        )
                    )
            except Exception:
                failures.append({"itemIdentifier": record["messageId"]})
        return {"batchItemFailures": failures}

    pump(cloud, invoke)
    return outcomes


def test_a_tiny_time_budget_continues_a_real_table_until_it_is_done(world):
    # 1,000-row batches; the time left drops 10 s a batch from 40 s, under the 10 s reserve
    # after the fourth: 4,000 rows a step.
    config = worker.Config(part_bytes=10**9, batch_rows=1000, reserve_ms=10_000, max_attempts=2)
    outcomes = _run(
        world,
        config=config,
        context=lambda: DroppingContext(start_ms=40_000, step_ms=10_000, free=1),
        only="public.events",
    )
    continued = [o for o in outcomes if o.action == "continued"]
    # Each range of 10,000 rows: 4,000 + 4,000 (continued) + 2,000 (done).
    assert [o.rows for o in outcomes if o.action != "ignored"].count(4000) == len(continued) == 4
    events = landed(world["cloud"], "public.events")
    ids = events.column("id").to_pylist()
    assert sorted(ids) == list(range(1, EVENTS + 1)) and len(set(ids)) == EVENTS
    expected = world["server"].execute(
        "SELECT sum(amount)::text, count(note) FROM public.events", world["db"]["dbname"]
    )
    total = sum(v.as_py() for v in events.column("amount"))
    assert (str(total), events.num_rows - events.column("note").null_count) == expected[0]
    # One part per step: every continuation closed its part.
    manifest = world["cloud"].get_json(f"landing/shop/public.events/run={RUN_ID}/_manifest.json")
    assert len(manifest["files"]) == len(continued) + 2


class FailingStore(S3Store):
    """The S3 store of a worker that dies after ``parts`` uploads (the rest of the step lost)."""

    def __init__(self, client: Any, bucket: str, parts: int) -> None:
        super().__init__(client, bucket)
        self.parts = parts

    def put_file(self, key: str, path: str) -> None:
        if self.parts <= 0:
            raise MemoryError("the worker was killed")
        self.parts -= 1
        super().put_file(key, path)


def test_a_worker_killed_mid_table_reruns_without_duplicates(world):
    cloud: Cloud = world["cloud"]
    # Tiny parts; the first attempt of range 0 dies after 5 parts, the retry writes bigger ones.
    store = FailingStore(cloud.s3, BUCKET, parts=5)
    small = worker.Config(part_bytes=1, batch_rows=700, reserve_ms=0, max_attempts=3)
    source = world["source"]
    connection = ConnectionSettings.from_secret(world["db"])
    with PostgresExtractor(connection) as reader:
        dispatch(
            parse_dispatch_event({"source": "shop", "scheduled_time": TIME}),
            source=source,
            extractor=reader,
            state=cloud.state,
            send=lambda body: None,
        )
        first = WorkMessage(RUN_ID, "shop", "public.events", 0, 2, 0)
        with pytest.raises(MemoryError):
            worker.process(
                first, source=source, extractor=lambda: reader, ports=_ports(cloud, store),
                config=small, remaining_ms=lambda: 900_000,
            )  # fmt: skip
        before = [k for k in cloud.objects("landing/shop/public.events/") if "part-" in k]
        assert len(before) == 5
        bigger = worker.Config(part_bytes=1, batch_rows=4000, reserve_ms=0, max_attempts=3)
        for message in (first, WorkMessage(RUN_ID, "shop", "public.events", 1, 2, 0)):
            worker.process(
                message, source=source, extractor=lambda: reader, ports=_ports(cloud),
                config=bigger, remaining_ms=lambda: 900_000, receive_count=2,
            )  # fmt: skip
    ids = landed(cloud, "public.events").column("id").to_pylist()
    assert sorted(ids) == list(range(1, EVENTS + 1)) and len(set(ids)) == EVENTS
    manifest = cloud.get_json(f"landing/shop/public.events/run={RUN_ID}/_manifest.json")
    on_s3 = {k for k in cloud.objects("landing/shop/public.events/") if "part-" in k}
    assert {f["key"] for f in manifest["files"]} == on_s3
    # The retry wrote 3 parts for range 0 where the first attempt had 5: parts 3 and 4 are gone.
    assert {k for k in before if k not in on_s3}


def test_incremental_runs_land_new_and_updated_rows_and_a_failure_keeps_the_mark(world):
    cloud: Cloud = world["cloud"]
    server, db = world["server"], world["db"]["dbname"]
    config = worker.Config(part_bytes=10**9, batch_rows=1000, reserve_ms=0, max_attempts=1)
    _run(world, config=config, only="public.orders")
    first = landed(cloud, "public.orders")
    assert sorted(first.column("id").to_pylist()) == list(range(1, 201))
    mark = marks.get(cloud.state, "shop", "public.orders")
    assert mark.isoformat() == "2026-11-01T03:20:00+00:00"  # row 200: 200 minutes in
    server.execute(
        "UPDATE public.orders SET total = -1, updated_at = timestamptz '2026-11-20 00:00:00+00'"
        " WHERE id IN (3, 4)",
        db,
    )
    server.execute(
        "INSERT INTO public.orders VALUES (201, 1, timestamptz '2026-11-21 00:00:00+00')", db
    )
    # A run whose writes fail: the table fails and the mark does not move.
    broken = FailingStore(cloud.s3, BUCKET, parts=0)
    _run(world, when="2026-12-03T02:00:00Z", config=config, store=broken, only="public.orders")
    assert (
        RunStore(cloud.state, "shop").get_table("20261203T020000Z", "public.orders")["status"]
        == "failed"
    )
    assert marks.get(cloud.state, "shop", "public.orders") == mark
    _run(world, when="2026-12-04T02:00:00Z", config=config, only="public.orders")
    again = landed(cloud, "public.orders", "20261204T020000Z")
    # Updated and new rows, plus the 10-minute lookback before the mark: rows 191-200.
    assert sorted(again.column("id").to_pylist()) == [3, 4, *range(191, 201), 201]
    assert (
        marks.get(cloud.state, "shop", "public.orders").isoformat() == "2026-11-21T00:00:00+00:00"
    )


def test_forged_and_malformed_inputs_are_rejected_before_anything_is_read(world, capsys):
    cloud: Cloud = world["cloud"]
    for event, needle in (
        (
            {"source": "shop", "scheduled_time": TIME, "tables": ["public.x"]},
            "unknown key(s) tables",
        ),
        ({"source": "shop", "scheduled_time": TIME, "query": "select 1"}, "unknown key(s) query"),
        ({"source": "other", "scheduled_time": TIME}, "unknown source 'other'"),
    ):
        with pytest.raises(ValueError) as caught:
            onboard_dispatcher.handler(event, DroppingContext())
        assert needle in str(caught.value)
    assert RunStore(cloud.state, "shop").get_run(RUN_ID) is None
    onboard_dispatcher.handler({"source": "shop", "scheduled_time": TIME}, DroppingContext())
    cloud.drain(cloud.work_url)
    forged = [
        WorkMessage(RUN_ID, "shop", "ledger.secret_keys", 0, 1, 0).body(),  # excluded
        WorkMessage(RUN_ID, "shop", "pg_catalog.pg_authid", 0, 1, 0).body(),  # undeclared
        WorkMessage("20300101T000000Z", "shop", "public.customers", 0, 1, 0).body(),  # no run
        json.dumps(
            {
                **json.loads(WorkMessage(RUN_ID, "shop", "public.customers", 0, 1, 0).body()),
                "sql": "select * from ledger.secret_keys",
            }
        ),
    ]
    records = [
        {"messageId": f"m{i}", "body": body, "attributes": {"ApproximateReceiveCount": "1"}}
        for i, body in enumerate(forged)
    ]
    response = onboard_worker.handler({"Records": records}, DroppingContext())
    assert response == {"batchItemFailures": []}
    assert sorted(cloud.drain(cloud.dlq_url)) == sorted(forged)
    assert not cloud.objects()
    out = capsys.readouterr().out
    assert out.count("onboard: work message rejected, sent to the DLQ") == 4
    assert "do not read" not in out
