"""The collector run against moto: windows, idempotent facts, checkpoint, catch-up, secrets."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import quote, quote_plus

import boto3
import pytest
from moto import mock_aws

from headwater.collect import checkpoints, collector, facts
from headwater.collect.collector import CollectError, InvalidJob, Policy, parse_job
from headwater.collect.connectors.base import Fact
from headwater.collect.connectors.synthetic import SyntheticConnector
from headwater.collect.windows import Window
from tests.support.collect import (
    FACTS_TABLE,
    SECRET_PREFIX,
    STATE_TABLE,
    all_items,
    create_facts_table,
    create_state_table,
)

REGION = "us-east-1"
SCHEDULE_ID = "6f1c2d3e-4a5b-4c6d-8e7f-0123456789ab"
AT = "2026-12-02T06:00:00Z"
NOW = datetime(2026, 12, 2, 6, 0, 5, tzinfo=UTC)
TOKEN = "EAAGtokenALICEdoNotLog0123456789"


def job_input(**changes: Any) -> dict[str, Any]:
    base = {
        "subscriber": "alice",
        "schedule": "daily-ads",
        "schedule_id": SCHEDULE_ID,
        "source": "synthetic",
        "account": "act-1",
        "connection": None,
        "params": {"campaigns": 3},
        "scheduled_time": AT,
    }
    return {**base, **changes}


class Aws:
    def __init__(self) -> None:
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        create_facts_table(dynamodb)
        create_state_table(dynamodb)
        resource = boto3.resource("dynamodb", region_name=REGION)
        self.facts = resource.Table(FACTS_TABLE)
        self.state = resource.Table(STATE_TABLE)
        self.secrets = boto3.client("secretsmanager", region_name=REGION)
        self.secret_ids: list[str] = []  # every SecretId the collector asked for
        self.secrets.meta.events.register(
            "provide-client-params.secrets-manager.GetSecretValue",
            lambda params, **_: self.secret_ids.append(params["SecretId"]),
        )

    def run(self, job: dict[str, Any] | collector.Job, now: datetime = NOW, **kwargs: Any):
        parsed = job if isinstance(job, collector.Job) else parse_job(job)
        kwargs.setdefault("policy", Policy())
        return collector.run(
            parsed,
            now,
            facts_table=self.facts,
            state_table=self.state,
            secrets=self.secrets,
            secret_prefix=SECRET_PREFIX,
            **kwargs,
        )

    def days(self) -> list[str]:
        return sorted({i["day"] for i in all_items(self.facts)})


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "test")
    with mock_aws():
        yield Aws()


def _days(first: date, count: int) -> list[str]:
    return [(first + timedelta(days=i)).isoformat() for i in range(count)]


def test_first_run_collects_the_initial_days(aws: Aws):
    summary = aws.run(job_input())
    # Lag 1: 2026-12-02 is still accumulating; the seven complete days before it.
    assert aws.days() == _days(date(2026, 11, 25), 7)
    assert summary.windows == 7 and summary.facts == 7 * 3
    assert summary.checkpoint == date(2026, 12, 2) and summary.skipped is None
    assert checkpoints.get(aws.state, SCHEDULE_ID) == date(2026, 12, 2)
    items = all_items(aws.facts)
    assert len(items) == 21 and all("expires_at" not in i for i in items)
    expected = {
        tuple(facts.to_item("alice", "synthetic", f).items())
        for f in SyntheticConnector().fetch(
            "act-1", Window(date(2026, 11, 25), date(2026, 12, 2)), {"campaigns": 3}
        )
    }
    assert {tuple(i.items()) for i in items} == expected


def test_a_second_run_the_same_day_collects_nothing(aws: Aws):
    aws.run(job_input())
    before = all_items(aws.facts)
    summary = aws.run(job_input(), now=NOW + timedelta(hours=5))
    assert summary.windows == 0 and summary.facts == 0
    assert summary.checkpoint == date(2026, 12, 2)
    assert all_items(aws.facts) == before


def test_a_rerun_of_the_same_windows_writes_no_duplicates(aws: Aws):
    aws.run(job_input())
    before = all_items(aws.facts)
    # The checkpoint lost (a run that wrote its facts and died before checkpointing): the
    # same windows again, the same keys, the same values.
    checkpoints.delete(aws.state, SCHEDULE_ID)
    summary = aws.run(job_input())
    assert summary.facts == 21
    assert all_items(aws.facts) == before


def test_overlapping_windows_overwrite(aws: Aws):
    aws.run(job_input(params={"campaigns": 3, "seed": 0}))
    # Another schedule of the same account, three days later, different figures (seed 1):
    # its 7 days overlap the first run's last 4.
    other = job_input(
        schedule_id="00000000-0000-4000-8000-000000000001",
        params={"campaigns": 3, "seed": 1},
        scheduled_time="2026-12-05T06:00:00Z",
    )
    aws.run(other, now=NOW + timedelta(days=3))
    items = all_items(aws.facts)
    assert aws.days() == _days(date(2026, 11, 25), 10)
    assert len(items) == 10 * 3
    second = SyntheticConnector().fetch(
        "act-1", Window(date(2026, 11, 28), date(2026, 12, 5)), {"campaigns": 3, "seed": 1}
    )
    by_key = {(i["pk"], i["sk"]): i for i in items}
    for fact in second:
        item = facts.to_item("alice", "synthetic", fact)
        assert by_key[item["pk"], item["sk"]] == item  # the later write won


class FailingConnector(SyntheticConnector):
    """The synthetic connector, failing at the start of its ``fail_on``-th window."""

    def __init__(self, fail_on: int) -> None:
        self.fail_on, self.calls = fail_on, 0

    def fetch(self, account, window, params, credentials=None) -> Iterator[Fact]:
        self.calls += 1
        if self.calls == self.fail_on:
            raise ConnectionError(f"source unavailable for {window.start}")
        yield from super().fetch(account, window, params, credentials)


def test_a_failure_keeps_the_windows_done_and_the_next_run_resumes(aws: Aws, caplog):
    policy = Policy(initial_days=5)
    failing = FailingConnector(fail_on=3)
    with pytest.raises(ConnectionError, match="2026-11-29"):
        aws.run(job_input(), policy=policy, connectors=lambda _: failing)
    # Windows 1-2 (Nov 27, 28) written and checkpointed; window 3 not.
    assert checkpoints.get(aws.state, SCHEDULE_ID) == date(2026, 11, 29)
    assert aws.days() == _days(date(2026, 11, 27), 2)
    assert len(all_items(aws.facts)) == 6
    failed = [r for r in caplog.records if r.getMessage() == "collect failed"]
    assert len(failed) == 1 and failed[0].windows == 2 and "ConnectionError" in failed[0].error

    # The retry (the same scheduled time) resumes at window 3.
    summary = aws.run(job_input(), policy=policy)
    assert summary.collected == _days(date(2026, 11, 29), 3)
    assert aws.days() == _days(date(2026, 11, 27), 5)
    assert len(all_items(aws.facts)) == 15


def test_missed_runs_catch_up_within_the_maximum_backfill(aws: Aws, caplog):
    policy = Policy(initial_days=1, max_backfill_days=10)
    aws.run(job_input(), policy=policy)  # collects Dec 1, checkpoint Dec 2
    # Four runs missed: the run of Dec 7 collects Dec 2..6.
    summary = aws.run(
        job_input(scheduled_time="2026-12-07T06:00:00Z"),
        now=NOW + timedelta(days=5),
        policy=policy,
    )
    assert summary.collected == _days(date(2026, 12, 2), 5) and summary.skipped is None
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]

    # Then 15 days missed: only the last 10 are collected, the 5 before are skipped, loudly.
    summary = aws.run(
        job_input(scheduled_time="2026-12-22T06:00:00Z"),
        now=NOW + timedelta(days=20),
        policy=policy,
    )
    assert summary.collected == _days(date(2026, 12, 12), 10)
    assert summary.skipped == Window(date(2026, 12, 7), date(2026, 12, 12))
    assert summary.as_dict()["skipped"] == {"start": "2026-12-07", "end": "2026-12-12", "days": 5}
    assert "2026-12-07" not in aws.days() and "2026-12-11" not in aws.days()
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.skipped_days == 5 and warning.skipped_start == "2026-12-07"
    assert warning.schedule_id == SCHEDULE_ID


def test_retention_sets_the_ttl_from_the_facts_day(aws: Aws):
    aws.run(job_input(), policy=Policy(initial_days=1, retention_days=30))
    (item, *_) = all_items(aws.facts)
    assert item["day"] == "2026-12-01"
    assert item["expires_at"] == int(datetime(2026, 12, 31, tzinfo=UTC).timestamp())


def test_a_scheduled_time_ahead_of_the_clock_never_collects_an_incomplete_day(aws: Aws):
    aws.run(job_input(scheduled_time="2026-12-09T06:00:00Z"), policy=Policy(initial_days=1))
    assert aws.days() == ["2026-12-01"]


# --- connections -----------------------------------------------------------------------------


class TokenConnector(SyntheticConnector):
    """A source that needs a token: records the credentials it was given, can fail with the
    token in its message (as an HTTP error quoting a request URL would)."""

    name: ClassVar[str] = "adsource"
    requires_connection: ClassVar[bool] = True

    def __init__(self, fail: bool = False) -> None:
        self.fail, self.seen = fail, []

    def fetch(self, account, window, params, credentials=None) -> Iterator[Fact]:
        self.seen.append(credentials)
        if self.fail:
            raise OSError(f"GET https://ads.example/insights?access_token={credentials['token']}")
        yield from super().fetch(account, window, params, credentials)


def _store(aws: Aws, subscriber: str, name: str, token: str, source: str = "adsource") -> None:
    aws.secrets.create_secret(
        Name=f"{SECRET_PREFIX}{subscriber}/{name}",
        SecretString=f'{{"source": "{source}", "token": "{token}"}}',
    )


def _connected(**changes: Any) -> dict[str, Any]:
    return job_input(**{"source": "adsource", "connection": "main", **changes})


def test_a_connection_reads_exactly_its_owners_secret(aws: Aws):
    _store(aws, "alice", "main", TOKEN)
    _store(aws, "bob", "main", "bob-token-never-read")
    source = TokenConnector()
    summary = aws.run(_connected(), policy=Policy(initial_days=2), connectors=lambda _: source)
    assert aws.secret_ids == [f"{SECRET_PREFIX}alice/main"]
    assert source.seen == [{"token": TOKEN}] * 2 and summary.facts == 6
    assert {i["pk"] for i in all_items(aws.facts)} == {"alice#adsource#act-1"}
    # Nothing left to collect today: the token is not even read.
    assert aws.run(_connected(), connectors=lambda _: source).windows == 0
    assert aws.secret_ids == [f"{SECRET_PREFIX}alice/main"]


def test_the_synthetic_source_reads_no_secret_even_with_a_connection(aws: Aws):
    aws.run(job_input(connection="main"), policy=Policy(initial_days=1))
    assert aws.secret_ids == []


@pytest.mark.parametrize(
    ("setup", "changes", "message"),
    [
        (None, {}, "connection 'main' of subscriber 'alice' does not exist"),
        (("alice", "main", TOKEN, "othersource"), {}, "is for source 'othersource'"),
        (("bob", "main", TOKEN, "adsource"), {}, "of subscriber 'alice' does not exist"),
        (None, {"connection": None}, "needs a connection"),
    ],
)
def test_connection_problems_fail_clearly_before_anything_is_written(
    aws: Aws, setup, changes, message
):
    if setup:
        _store(aws, *setup)
    with pytest.raises(CollectError, match=message):
        aws.run(_connected(**changes), connectors=lambda _: TokenConnector())
    assert all_items(aws.facts) == [] and checkpoints.get(aws.state, SCHEDULE_ID) is None


def test_a_secret_that_is_not_a_connection_is_refused_without_quoting_it(aws: Aws):
    aws.secrets.create_secret(Name=f"{SECRET_PREFIX}alice/main", SecretString=f"raw {TOKEN}")
    with pytest.raises(CollectError) as raised:
        aws.run(_connected(), connectors=lambda _: TokenConnector())
    assert TOKEN not in str(raised.value) and raised.value.__cause__ is None


def test_the_token_never_reaches_the_logs_or_the_error(aws: Aws, caplog):
    # headwater's own loggers at every level (botocore's DEBUG wire dumps are off in Lambda).
    caplog.set_level(logging.DEBUG, logger="headwater")
    _store(aws, "alice", "main", TOKEN)
    aws.run(_connected(), policy=Policy(initial_days=1), connectors=lambda _: TokenConnector())
    with pytest.raises(CollectError) as raised:
        aws.run(
            _connected(scheduled_time="2026-12-03T06:00:00Z"),
            now=NOW + timedelta(days=1),
            connectors=lambda _: TokenConnector(fail=True),
        )
    assert "access_token=***" in str(raised.value)
    assert TOKEN not in str(raised.value)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    (failed,) = [r for r in caplog.records if r.getMessage() == "collect failed"]
    assert "access_token=***" in failed.error  # the failure is logged, masked
    assert TOKEN not in caplog.text
    for record in caplog.records:
        assert TOKEN not in repr(record.__dict__)


# --- the input -------------------------------------------------------------------------------


def test_parse_job_reads_the_contracts_input():
    job = parse_job(job_input(connection="main", trigger="api"))
    assert job.scheduled_time == datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
    assert (job.subscriber, job.schedule, job.connection, job.trigger) == (
        "alice",
        "daily-ads",
        "main",
        "api",
    )
    assert job.log_fields() == {
        "subscriber": "alice",
        "schedule": "daily-ads",
        "schedule_id": SCHEDULE_ID,
        "source": "synthetic",
    }
    minimal = {k: v for k, v in job_input().items() if k not in ("connection", "params")}
    assert parse_job(minimal).params == {} and parse_job(minimal).connection is None


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ("not an object", "must be a JSON object"),
        (None, "must be a JSON object"),
        ({}, "subscriber: a non-empty string is required; schedule: "),
        (job_input(scheduled_time="yesterday"), "scheduled_time: 'yesterday' is not an RFC 3339"),
        (job_input(scheduled_time="2026-12-02T06:00:00"), "has no offset"),
        (job_input(scheduled_time=1764655200), "scheduled_time: a non-empty string"),
        (job_input(account=""), "account: a non-empty string"),
        (job_input(schedule_id="nope"), "schedule_id: not a UUID"),
        (job_input(subscriber="alice/../bob"), "subscriber: must not contain '/'"),
        (job_input(connection="../bob/main"), "connection: must match"),
        (job_input(params=[1]), "params: a JSON object"),
        (job_input(token="x"), r"unknown field\(s\) \['token'\]"),
    ],
)
def test_a_malformed_input_is_a_clear_error(event, message):
    with pytest.raises(InvalidJob, match=message):
        parse_job(event)


def test_unknown_source_and_bad_params_fail_before_any_write(aws: Aws):
    from headwater.collect.connectors.base import InvalidParams
    from headwater.collect.connectors.registry import UnknownConnector

    with pytest.raises(UnknownConnector, match="known connectors: meta_insights, synthetic"):
        aws.run(job_input(source="nope"))
    with pytest.raises(InvalidParams, match=r"params\.campaigns"):
        aws.run(job_input(params={"campaigns": 0}))
    assert all_items(aws.facts) == [] and aws.secret_ids == []


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"initial_days": 40}, "initial_days must be 1 to max_backfill_days"),
        ({"max_backfill_days": 0}, "max_backfill_days must be at least 1"),
        ({"lag_days": -1}, "lag_days must be 0 or more"),
        ({"retention_days": -1}, "retention_days must be 0 or more"),
    ],
)
def test_a_bad_policy_is_refused(values: Mapping[str, int], message: str):
    with pytest.raises(ValueError, match=message):
        Policy(**values)


def test_spend_is_stored_exactly(aws: Aws):
    aws.run(job_input(), policy=Policy(initial_days=1))
    assert all(isinstance(i["spend"], Decimal) for i in all_items(aws.facts))


def test_a_percent_encoded_token_is_masked_too():
    token = "tok/with+odd=chars&more"
    text = f"GET /x?access_token={quote(token, safe='')} or {token} or {quote_plus(token)}"
    masked = collector._masked(text, token)
    assert masked == "GET /x?access_token=*** or *** or ***"
