"""End to end, on the session's ``./setup.sh run``: the onboard flow of issue 9.

``./setup.sh run`` already onboarded the local demo database (its onboard demo step started a
real PostgreSQL in the state folder, created the demo schema, 20,000 events in the e2e session,
and wrote the connection into the source's secret with ``PutSecretValue``): its report is checked
first. Then ``headwater onboard run`` invokes the dispatcher and waits while the runner's workers
consume the work queue: every table lands once, exactly as the database (read through the
secret's settings) holds it, with its manifest; the empty table has 0 rows and no data file; the
``Onboard Run Completed`` event reaches the bus; and the secret's password is in no log line of
the two functions. A second run after changing orders reads exactly the rows of the incremental
table above the mark the first runs left, minus the lookback window.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import stat
import subprocess
import sys
import time
import uuid
from typing import Any

import pyarrow.parquet as pq
import pytest

from headwater.cli import local_postgres, onboard_demo
from tests.support.e2e import client, outputs
from tests.support.paths import ROOT

pytestmark = pytest.mark.e2e

ROWS = 20_000
WAIT = 300  # seconds the CLI waits for a run (the bound of the test, not an expectation)
FULL_TABLES = ("public.customers", "public.empty_table", "public.events", "public.products")
KEYS = {
    "public.customers": "id",
    "public.empty_table": "id",
    "public.events": "id",
    "public.products": "sku",
    "public.orders": "id",
}


def cli(platform: dict, *argv: str, timeout: float = WAIT + 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "headwater", *argv],
        cwd=ROOT, env=platform["local_env"], capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def query(settings: dict, sql: str) -> list[tuple]:
    connection = onboard_demo._connect(settings, autocommit=True)
    try:
        with contextlib.closing(connection.cursor()) as cursor:
            cursor.execute(sql)
            return [tuple(row) for row in cursor.fetchall()]
    finally:
        connection.close()


def run_id_from(stdout: str) -> str:
    match = re.search(r"^run (\d{8}T\d{6}Z) of source demo: completed", stdout, re.MULTILINE)
    assert match, stdout
    return match.group(1)


def report_rows(stdout: str) -> dict[str, tuple[int, str]]:
    """The CLI's table: table -> (rows, status)."""
    found = {}
    for line in stdout.splitlines():
        cells = line.split()
        if cells and cells[0] in KEYS:
            found[cells[0]] = (int(cells[1].replace(",", "")), cells[-1])
    return found


def get_json(s3: Any, bucket: str, key: str) -> dict:
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def landed(s3: Any, bucket: str, table: str, run_id: str) -> tuple[dict, list[str], Any]:
    """A table's manifest, the keys under its run prefix, and the rows of its listed parts."""
    prefix = f"demo/{table}/run={run_id}/"
    manifest = get_json(s3, bucket, f"{prefix}_manifest.json")
    keys = [
        entry["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for entry in page.get("Contents", [])
    ]
    tables = [
        pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=f["key"])["Body"].read()),
                      use_threads=False)
        for f in manifest["files"]
    ]  # fmt: skip
    return manifest, keys, tables


@pytest.fixture(scope="module")
def source_db(platform) -> dict[str, Any]:
    """The demo database that `./setup.sh run` started and filled, as its secret holds it.

    Not a second server of the tests: the workers of the running deployment keep the secret
    they read (cached per container, as on AWS), so a secret pointed elsewhere now would not be
    what they read.
    """
    secret = client(platform, "secretsmanager").get_secret_value(
        SecretId=outputs(platform)["onboard_demo_secret_arn"]
    )
    settings = json.loads(secret["SecretString"])
    assert (settings["host"], settings["dbname"], settings["username"]) == (
        "127.0.0.1", "demo", "headwater_demo",
    )  # fmt: skip
    assert settings["sslmode"] == "disable"
    # The password was generated once and is kept in the data directory, private.
    kept = platform["state"] / "local" / "postgres" / local_postgres.DEMO_PASSWORD_FILE
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert kept.read_text().strip() == settings["password"]
    return settings


@pytest.fixture(scope="module")
def completions(platform) -> dict[str, Any]:
    """A queue receiving the bus's ``Onboard Run Completed`` events (a rule of the test's)."""
    worker = client(platform, "lambda").get_function_configuration(
        FunctionName=outputs(platform)["onboard_worker_function_name"]
    )
    bus = worker["Environment"]["Variables"]["ONBOARD_EVENT_BUS_NAME"]
    sqs, events = client(platform, "sqs"), client(platform, "events")
    name = f"e2e-onboard-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(
        Name=name,
        EventBusName=bus,
        EventPattern=json.dumps(
            {"source": ["headwater.onboard"], "detail-type": ["Onboard Run Completed"]}
        ),
    )
    events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "queue", "Arn": arn}])
    return {"sqs": sqs, "url": url}


def completion_event(found: dict, run_id: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = found["sqs"].receive_message(
            QueueUrl=found["url"], MaxNumberOfMessages=10, WaitTimeSeconds=1
        )
        for message in got.get("Messages", []):
            event = json.loads(message["Body"])
            if event["detail"].get("run_id") == run_id:
                return event
    pytest.fail(f"no Onboard Run Completed event for run {run_id} within {timeout:.0f}s")


def test_setup_run_onboarded_the_demo_database(platform):
    run = platform["run"]
    assert run.returncode == 0, run.stderr[-3000:]
    rows = report_rows(run.stdout)
    # The e2e session's demo has 20,000 events (tests/e2e/conftest.py).
    assert rows["public.events"] == (ROWS, "succeeded"), run.stdout
    assert rows["public.empty_table"] == (0, "succeeded")
    assert {status for _rows, status in rows.values()} == {"succeeded"}
    assert set(rows) == set(KEYS)


def test_onboard_run_lands_every_table_once(platform, source_db, completions):
    run = cli(platform, "onboard", "run", "--source", "demo", "--wait", str(WAIT))
    assert run.returncode == 0, run.stdout + run.stderr
    run_id = run_id_from(run.stdout)
    printed = report_rows(run.stdout)
    out = outputs(platform)
    s3, bucket = client(platform, "s3"), out["onboard_bucket_name"]

    for table in FULL_TABLES:
        key = KEYS[table]
        expected = [row[0] for row in query(source_db, f"SELECT {key} FROM {table} ORDER BY 1")]
        manifest, keys, parts = landed(s3, bucket, table, run_id)
        got = [value for part in parts for value in part.column(key).to_pylist()]
        # Every row exactly once, in key order within each range.
        assert sorted(got) == expected, table
        assert manifest["rows"] == len(expected) == printed[table][0], table
        assert sum(f["rows"] for f in manifest["files"]) == manifest["rows"]
        assert sorted(keys) == sorted([f["key"] for f in manifest["files"]] + [
            f"demo/{table}/run={run_id}/_manifest.json"
        ])  # fmt: skip
        assert {c["name"] for c in manifest["schema"]} == {
            row[0]
            for row in query(
                source_db,
                "SELECT column_name FROM information_schema.columns WHERE table_schema = "
                f"'public' AND table_name = '{table.split('.')[1]}'",
            )
        }

    # The empty table: recorded with 0 rows, and no data file.
    manifest, keys, _parts = landed(s3, bucket, "public.empty_table", run_id)
    assert manifest["rows"] == 0 and manifest["files"] == []
    assert keys == [f"demo/public.empty_table/run={run_id}/_manifest.json"]

    # The large table was read in its declared key ranges: parts of range 1 number from 10000.
    events, _keys, _parts = landed(s3, bucket, "public.events", run_id)
    numbers = {int(f["key"].rsplit("-", 1)[1].split(".")[0]) // 10000 for f in events["files"]}
    assert numbers == {0, 1}

    # A sample of values, compared with the database (NULLs stay null, NaN stays NaN).
    (part, *_rest) = landed(s3, bucket, "public.customers", run_id)[2]
    first = {row["id"]: row for row in part.to_pylist()}
    for id_, email, uid in query(
        source_db, "SELECT id, email, uid::text FROM public.customers WHERE id <= 12"
    ):
        assert (first[id_]["email"], first[id_]["uid"]) == (email, uid)

    # The run summary and the completion event agree.
    summary = get_json(s3, bucket, f"demo/_runs/run={run_id}/summary.json")
    assert summary["failed"] == 0 and summary["succeeded"] == len(KEYS)
    event = completion_event(completions, run_id)
    assert event["source"] == "headwater.onboard"
    assert event["detail-type"] == "Onboard Run Completed"
    detail = event["detail"]
    assert (detail["source"], detail["tables"], detail["failed"]) == ("demo", len(KEYS), 0)
    assert detail["rows"] == summary["rows"] == sum(rows for rows, _status in printed.values())
    assert detail["failures"] == []

    # `status` reports the same run.
    status = cli(platform, "onboard", "status", "--source", "demo", "--run", run_id)
    assert status.returncode == 0, status.stdout + status.stderr
    assert report_rows(status.stdout) == printed

    # The password is nowhere: not in the functions' log lines (the runner's log, locally the
    # CloudWatch log groups' stand-in), nor in what the CLI printed (its in-process dispatcher).
    password = source_db["password"]
    log = (platform["state"] / "local.log").read_text(encoding="utf-8", errors="replace")
    assert run_id in log  # the functions did log this run
    assert password not in log
    assert password not in run.stdout + run.stderr


def test_a_second_run_reads_changed_orders_only(platform, source_db):
    # Orders updated after the first run, and new ones: the incremental table's next run reads
    # those (plus the lookback window before the mark), not the whole table.
    query(
        source_db,
        "UPDATE public.orders SET status = 'refunded', updated_at = now() WHERE id % 100 = 0 "
        "RETURNING id",
    )
    query(
        source_db,
        "INSERT INTO public.orders SELECT g, 1, 9.99, 'e2e-new', now() "
        "FROM generate_series(5001, 5030) AS g RETURNING id",
    )
    run = cli(platform, "onboard", "run", "--wait", str(WAIT))
    assert run.returncode == 0, run.stdout + run.stderr
    run_id = run_id_from(run.stdout)
    s3, bucket = client(platform, "s3"), outputs(platform)["onboard_bucket_name"]
    manifest, _keys, parts = landed(s3, bucket, "public.orders", run_id)
    got = {value for part in parts for value in part.column("id").to_pylist()}
    changed = {row[0] for row in query(source_db, "SELECT id FROM public.orders WHERE "
                                       "status IN ('refunded', 'e2e-new')")}  # fmt: skip
    assert changed <= got
    # Exactly the rows whose cursor is above the run's lower bound (the first run's mark minus
    # the lookback window), not the whole table.
    since = manifest["since"]
    assert since is not None and manifest["mode"] == "incremental"
    expected = {
        row[0]
        for row in query(
            source_db, f"SELECT id FROM public.orders WHERE updated_at > '{since}'::timestamptz"
        )
    }
    assert got == expected
    assert len(got) < 2030 / 4
    # The full tables are read whole again.
    assert report_rows(run.stdout)["public.events"][0] == ROWS
