"""End to end, as a new user follows ``./setup.sh run``: the printed curl creates a schedule with
the demo key, the printed ``schedules fire`` command runs the collector through the Scheduler's
path, facts land in DynamoDB and the printed ``collect changes`` lists the sink's change files."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time

import pytest

from headwater.cli.collect import DEMO_SCHEDULE
from tests.support.e2e import client, key_value, outputs
from tests.support.paths import ROOT

pytestmark = pytest.mark.e2e

WAIT_SECONDS = 180


def _printed(run: subprocess.CompletedProcess, marker: str) -> str:
    lines = [line.strip() for line in run.stdout.splitlines() if marker in line]
    assert len(lines) == 1, run.stdout[-4000:]
    return lines[0]


def _cli(platform, command: str) -> subprocess.CompletedProcess:
    """A printed ``./setup.sh cli ...`` line, run as ``python -m headwater ...``."""
    words = shlex.split(command.split("#", 1)[0])
    assert words[:2] == ["./setup.sh", "cli"], command
    return subprocess.run(
        [sys.executable, "-m", "headwater", *words[2:]],
        cwd=ROOT, env=platform["local_env"], capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def _facts(platform, pk: str) -> list[dict]:
    dynamodb = client(platform, "dynamodb")
    return dynamodb.query(
        TableName=outputs(platform)["collect_facts_table"],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": pk}},
        ConsistentRead=True,
    )["Items"]


def test_the_printed_commands_create_run_and_show_a_schedule(platform):
    run = platform["run"]
    assert run.returncode == 0, f"stdout:\n{run.stdout[-4000:]}\nstderr:\n{run.stderr[-4000:]}"
    curl = _printed(run, "/schedules")
    assert f"x-api-key: {key_value(platform, 'demo')}" in shlex.split(curl)
    created = subprocess.run(curl, shell=True, capture_output=True, text=True, timeout=60)
    assert created.returncode == 0, created.stderr
    body = json.loads(created.stdout)
    assert body["name"] == DEMO_SCHEDULE["name"] and body["enabled"] is True, body

    fired = _cli(platform, _printed(run, "schedules fire c-"))
    assert fired.returncode == 0, fired.stderr
    pk = f"demo#{DEMO_SCHEDULE['source']}#{DEMO_SCHEDULE['account']}"
    deadline = time.monotonic() + WAIT_SECONDS
    while not (facts := _facts(platform, pk)) and time.monotonic() < deadline:
        time.sleep(1)
    assert facts, "the fired schedule wrote no facts"
    # The synthetic connector: one fact per campaign and day of the collected windows.
    days = {item["sk"]["S"].split("#", 1)[0] for item in facts}
    assert len(facts) == DEMO_SCHEDULE["params"]["campaigns"] * len(days)

    listing = _printed(run, "collect changes")
    expected = sorted(item["sk"]["S"] for item in facts)
    while (changed := _changes(platform, pk)) != expected and time.monotonic() < deadline:
        time.sleep(2)
    assert changed == expected, "each fact's INSERT must be in the change files exactly once"
    shown = _cli(platform, listing)
    assert shown.returncode == 0, shown.stderr
    assert "dataset=synthetic/day=" in shown.stdout and "INSERT=" in shown.stdout


def _changes(platform, pk: str) -> list[str]:
    """The sort keys of the INSERT change records of ``pk`` in every change file, sorted."""
    import io

    import pyarrow.parquet as pq

    out = outputs(platform)
    s3 = client(platform, "s3")
    found: list[str] = []
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=out["collect_changes_bucket"], Prefix=out["collect_changes_prefix"]
    )
    for page in pages:
        for entry in page.get("Contents", []):
            body = s3.get_object(Bucket=out["collect_changes_bucket"], Key=entry["Key"])["Body"]
            table = pq.read_table(io.BytesIO(body.read()), columns=["operation", "pk", "sk"])
            for row in table.to_pylist():
                if row["pk"] == pk and row["operation"] == "INSERT":
                    found.append(row["sk"])
    return sorted(found)
