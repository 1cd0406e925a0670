"""A source on another engine end to end through the Lambda entrypoints: a SQLite file declared
with ``engine = "sqlite"`` (driver sqlalchemy by default) is dispatched by the dispatcher
handler and landed by the worker handler (moto), through continuations and key ranges, with
the same files, manifest and completion event as a PostgreSQL source."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from headwater.handlers import onboard_dispatcher, onboard_worker
from tests.support.onboard import BUCKET, Cloud, DroppingContext, handler_world, pump

TOML = """
[source]
name = "shop"
engine = "sqlite"
description = "a SQLite file read through SQLAlchemy"

[[tables]]
name = "main.orders"
ranges = 2

[[tables]]
name = "main.empty"
"""
ROWS = 500


@pytest.fixture
def deployed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "shop.toml").write_text(TOML)
    database = tmp_path / "shop.db"
    engine = sa.create_engine(f"sqlite:///{database}")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE orders (id INTEGER PRIMARY KEY, total NUMERIC(10, 2), note TEXT)"
        )
        conn.exec_driver_sql("CREATE TABLE empty (id INTEGER PRIMARY KEY, v TEXT)")
        conn.exec_driver_sql(
            "WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < ?) "
            "INSERT INTO orders SELECT i, i * 1.25, CASE WHEN i % 7 THEN 'n' || i END FROM g",
            (ROWS,),
        )
    engine.dispose()
    with handler_world(
        monkeypatch,
        declarations=tmp_path,
        service="onboard-portable",
        source_name="shop",
        secret={"database": str(database)},
        ONBOARD_PART_BYTES="2048",
    ) as world:
        yield world.cloud


def test_a_declaration_writing_outside_the_modules_prefix_is_refused_before_a_run(
    deployed: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The worker's S3 grant covers the prefix Terraform was given: a declaration that differs
    # would fail every table with AccessDenied, so the dispatcher refuses it, naming both.
    sources = json.loads(os.environ["ONBOARD_SOURCES"])
    sources["shop"]["target_prefix"] = "finance/shop/"
    monkeypatch.setenv("ONBOARD_SOURCES", json.dumps(sources))
    with pytest.raises(RuntimeError, match=r"'shop/'.*'finance/shop/'"):
        onboard_dispatcher.handler(
            {"source": "shop", "scheduled_time": "2026-12-02T02:00:00Z"}, DroppingContext()
        )
    assert deployed.state.scan()["Items"] == []
    assert deployed.sqs.receive_message(QueueUrl=deployed.work_url).get("Messages") is None


def test_a_sqlite_source_lands_through_both_handlers(deployed: Cloud) -> None:
    cloud = deployed
    outcome = onboard_dispatcher.handler(
        {"source": "shop", "scheduled_time": "2026-12-02T02:00:00Z"}, DroppingContext()
    )
    # The dispatcher read the key's bounds through SQLAlchemy to split orders into 2 ranges.
    assert (outcome["tables"], outcome["sent"]) == (2, 3)

    def invoke(event):
        # The time left drops under the reserve after the first batch: every range continues.
        context = DroppingContext(start_ms=300_000, step_ms=290_000, free=1)
        return onboard_worker.handler(event, context)

    invocations = pump(cloud, invoke)
    assert invocations == 5  # each range of orders continued once (its second step: no rows)
    run = "run=20261202T020000Z"
    manifest = cloud.get_json(f"shop/main.orders/{run}/_manifest.json")
    assert manifest["rows"] == ROWS
    assert {f["name"]: f["type"] for f in manifest["schema"]} == {
        "id": "int64",
        "total": "decimal128(10, 2)",
        "note": "string",
    }
    rows = []
    for entry in manifest["files"]:
        body = cloud.s3.get_object(Bucket=BUCKET, Key=entry["key"])["Body"].read()
        rows += pq.read_table(io.BytesIO(body)).to_pylist()
    assert sorted(r["id"] for r in rows) == list(range(1, ROWS + 1))
    by_id = {r["id"]: r for r in rows}
    assert str(by_id[3]["total"]) == "3.75" and by_id[7]["note"] is None
    assert by_id[8]["note"] == "n8"
    empty = cloud.get_json(f"shop/main.empty/{run}/_manifest.json")
    assert (empty["rows"], empty["files"]) == (0, [])
    summary = cloud.get_json(f"shop/_runs/{run}/summary.json")
    assert summary["status"] == "completed"
    assert cloud.drain(cloud.dlq_url) == []
