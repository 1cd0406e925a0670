"""The worker's Lambda entrypoint without a database: a source whose server cannot be reached
fails its table after ONBOARD_MAX_ATTEMPTS, the run completes, the password appears nowhere."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from headwater.handlers import onboard_worker
from headwater.onboard.declarations import load_sources
from headwater.onboard.dispatcher import dispatch
from headwater.onboard.messages import parse_dispatch_event
from headwater.onboard.runs import RunStore
from tests.support.emulator import free_port
from tests.support.onboard import (
    BUCKET,
    PASSWORD,
    DroppingContext,
    FakeExtractor,
    handler_world,
    pump,
)

TOML = """
[source]
name = "crm"
engine = "postgresql"
description = "unreachable"

[[tables]]
name = "public.accounts"
"""


@pytest.fixture
def deployed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest):
    (tmp_path / "crm.toml").write_text(TOML)
    secret = {
        "host": "127.0.0.1",
        "port": free_port(),  # nothing listens: the connection is refused
        "dbname": "crm",
        "username": "reader",
        "password": PASSWORD,
        "sslmode": "disable",
    }
    with handler_world(
        monkeypatch,
        declarations=tmp_path,
        service=f"onboard-worker-{request.node.name}",
        source_name="crm",
        secret=secret,
        ONBOARD_MAX_ATTEMPTS="2",
    ) as world:
        yield world.cloud, world.events_url, load_sources(tmp_path)["crm"]


def _lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_an_unreachable_source_fails_its_table_and_the_run_completes(deployed, capsys):
    cloud, events_url, source = deployed
    dispatch(
        parse_dispatch_event({"source": "crm", "scheduled_time": "2026-12-02T02:00:00Z"}),
        source=source,
        extractor=FakeExtractor({}),
        state=cloud.state,
        send=lambda body: cloud.sqs.send_message(QueueUrl=cloud.work_url, MessageBody=body),
    )
    responses: list[dict[str, Any]] = []

    def invoke(event: dict[str, Any]) -> dict[str, Any]:
        responses.append(onboard_worker.handler(event, DroppingContext()))
        return responses[-1]

    # Attempts 1 and 2 fail and are retried; the third delivery fails the table.
    assert pump(cloud, invoke) == 3
    assert [len(r["batchItemFailures"]) for r in responses] == [1, 1, 0]
    (dead,) = cloud.drain(cloud.dlq_url)
    assert json.loads(dead)["table"] == "public.accounts"
    (delivered,) = cloud.drain(events_url)
    detail = json.loads(delivered)["detail"]
    assert (detail["tables"], detail["succeeded"], detail["failed"]) == (1, 0, 1)
    (failure,) = detail["failures"]
    assert failure["table"] == "public.accounts" and "ConnectionFailed" in failure["error"]
    run = RunStore(cloud.state, "crm").get_run("20261202T020000Z")
    assert run["status"] == "completed"
    out = capsys.readouterr().out
    lines = _lines(out)
    metrics = [line for line in lines if "_aws" in line]
    assert [m.get("StepsFailed") for m in metrics] == [[1.0], [1.0], None]
    assert metrics[-1]["TablesFailed"] == [1.0] and metrics[-1]["RunsCompleted"] == [1.0]
    stored = json.dumps(cloud.state.scan()["Items"], default=str)
    summary = cloud.s3.get_object(Bucket=BUCKET, Key="crm/_runs/run=20261202T020000Z/summary.json")
    for text in (out, stored, delivered, dead, summary["Body"].read().decode()):
        assert PASSWORD not in text
