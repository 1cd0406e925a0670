"""The collector's Lambda entrypoint: settings, Powertools logs and metrics, errors raised."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, ClassVar

import boto3
import pytest
from moto import mock_aws

from headwater import aws as hw_aws
from headwater.collect.collector import CollectError, InvalidJob
from headwater.collect.connectors import registry
from headwater.collect.connectors.synthetic import SyntheticConnector
from headwater.handlers import collect_collector
from tests.support.collect import (
    FACTS_TABLE,
    SECRET_PREFIX,
    STATE_TABLE,
    all_items,
    create_facts_table,
    create_state_table,
)
from tests.support.lambda_context import LambdaContext
from tests.unit.collect.test_collector import SCHEDULE_ID, TOKEN, job_input

ENVIRONMENT = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "COLLECT_FACTS_TABLE": FACTS_TABLE,
    "COLLECT_STATE_TABLE": STATE_TABLE,
    "COLLECT_SECRET_PREFIX": SECRET_PREFIX,
    "COLLECT_INITIAL_DAYS": "2",
    "POWERTOOLS_SERVICE_NAME": "collect-collector",
    "POWERTOOLS_METRICS_NAMESPACE": "headwater-test",
}


@pytest.fixture
def deployed(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest):
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    # A service of its own per test: Powertools' logger writes to the stdout it was created
    # with, and the handlers' loggers are cached per service (capsys replaces stdout per test).
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", f"collect-collector-{request.node.name}")
    for name in ("AWS_ENDPOINT_URL", "COLLECT_LAG_DAYS", "COLLECT_FACT_RETENTION_DAYS"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        hw_aws.reset()
        dynamodb = boto3.client("dynamodb")
        create_facts_table(dynamodb)
        create_state_table(dynamodb)
        yield boto3.resource("dynamodb").Table(FACTS_TABLE)
    hw_aws.reset()


def _lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def _metrics(lines: list[dict[str, Any]]) -> dict[str, Any]:
    (emf,) = [line for line in lines if "_aws" in line]
    names = [m["Name"] for m in emf["_aws"]["CloudWatchMetrics"][0]["Metrics"]]
    return {name: emf[name] for name in names}


def test_a_run_writes_facts_and_reports_logs_and_metrics(deployed, capsys):
    result = collect_collector.handler(job_input(trigger="api"), LambdaContext())
    # The default lag of 1 day, COLLECT_INITIAL_DAYS=2: Nov 30 and Dec 1, 3 campaigns each.
    assert result == {"windows": 2, "facts": 6, "checkpoint": "2026-12-02", "skipped": None}
    assert len(all_items(deployed)) == 6
    lines = _lines(capsys.readouterr().out)
    assert _metrics(lines) == {
        "FactsWritten": [6.0],
        "WindowsCollected": [2.0],
        "WindowsSkipped": [0.0],
    }
    (finished,) = [line for line in lines if line.get("message") == "collect: run finished"]
    assert finished["subscriber"] == "alice" and finished["schedule"] == "daily-ads"
    assert finished["schedule_id"] == SCHEDULE_ID and finished["trigger"] == "api"
    assert finished["function_request_id"] == LambdaContext().aws_request_id


def test_retention_applies_from_the_environment(deployed, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("COLLECT_FACT_RETENTION_DAYS", "90")
    collect_collector.handler(job_input(), LambdaContext())
    assert all("expires_at" in item for item in all_items(deployed))


def test_a_malformed_input_raises_and_is_logged(deployed, capsys):
    with pytest.raises(InvalidJob, match="scheduled_time"):
        collect_collector.handler(job_input(scheduled_time="soon"), LambdaContext())
    (error,) = [line for line in _lines(capsys.readouterr().out) if line["level"] == "ERROR"]
    assert error["message"] == "collect: invalid input" and "scheduled_time" in error["error"]
    assert all_items(deployed) == []


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("COLLECT_LAG_DAYS", "one", "COLLECT_LAG_DAYS must be a whole number of days, not 'one'"),
        ("COLLECT_INITIAL_DAYS", "45", "initial_days must be 1 to max_backfill_days"),
        ("COLLECT_FACTS_TABLE", "", "COLLECT_FACTS_TABLE"),
    ],
)
def test_bad_settings_fail_clearly(deployed, monkeypatch: pytest.MonkeyPatch, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(RuntimeError, match=message):
        collect_collector.handler(job_input(), LambdaContext())


class TokenSource(SyntheticConnector):
    name: ClassVar[str] = "adsource"
    requires_connection: ClassVar[bool] = True

    def fetch(self, account, window, params, credentials=None) -> Iterator[Any]:
        if window.start.day == 1:  # the second window fails, quoting the token
            raise OSError(f"GET /insights?access_token={credentials['token']}: 500")
        yield from super().fetch(account, window, params, credentials)


def test_the_token_is_in_no_log_line_metric_or_error(deployed, capsys, monkeypatch):
    monkeypatch.setattr(
        registry, "CONNECTORS", {**registry.CONNECTORS, TokenSource.name: TokenSource()}
    )
    boto3.client("secretsmanager").create_secret(
        Name=f"{SECRET_PREFIX}alice/main",
        SecretString=json.dumps({"source": "adsource", "token": TOKEN}),
    )
    event = job_input(source="adsource", connection="main")
    with pytest.raises(CollectError, match=r"access_token=\*\*\*") as raised:
        collect_collector.handler(event, LambdaContext())
    out = capsys.readouterr().out
    assert TOKEN not in out and TOKEN not in str(raised.value)
    (failed,) = [line for line in _lines(out) if line.get("message") == "collect failed"]
    assert failed["windows"] == 1 and failed["schedule_id"] == SCHEDULE_ID
    assert len(all_items(deployed)) == 3  # the first window is kept


def test_the_meta_connector_collects_from_the_configured_base_url(deployed, monkeypatch):
    """COLLECT_META_BASE_URL reaches the registered Meta connector: a run against the loopback
    fake collects its rows with the owner's token (the default URL would be unreachable here)."""
    from tests.support.fake_meta import TOKEN as META_TOKEN
    from tests.support.fake_meta import FakeMeta

    boto3.client("secretsmanager").create_secret(
        Name=f"{SECRET_PREFIX}alice/meta",
        SecretString=json.dumps({"source": "meta_insights", "token": META_TOKEN}),
    )
    event = job_input(
        source="meta_insights", connection="meta", account="act_1234567890", params={}
    )
    with FakeMeta() as fake:
        monkeypatch.setenv("COLLECT_META_BASE_URL", fake.base_url)
        result = collect_collector.handler(event, LambdaContext())
    assert fake.pages >= 2 and fake.throttled == 0  # one page per day at least
    items = all_items(deployed)
    assert result["facts"] == len(items) > 0
    assert {item["pk"] for item in items} == {"alice#meta_insights#act_1234567890"}


def test_the_meta_connector_never_waits_past_the_remaining_time():
    """The wait budget is the invocation's remaining time less a reserve, never more than the
    connector's own bound."""
    from headwater.collect.connectors.meta import MetaInsightsConnector

    config = collect_collector.Settings(
        facts_table="f", state_table="s", secret_prefix="p/", meta_base_url="http://127.0.0.1:9"
    )
    short = collect_collector.connectors(config, 100.0)("meta_insights")
    assert isinstance(short, MetaInsightsConnector)
    assert short.base_url == "http://127.0.0.1:9"
    assert short.backoff.max_wait_seconds == 100.0 - collect_collector.TIME_RESERVE_SECONDS
    long = collect_collector.connectors(config, 3600.0)("meta_insights")
    assert long.backoff.max_wait_seconds == MetaInsightsConnector().backoff.max_wait_seconds
    assert collect_collector.connectors(config, 1.0)("synthetic") is registry.get("synthetic")
