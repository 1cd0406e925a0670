"""The summary handler: its input forms, its report, and that every failure raises."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import boto3
import pytest
from moto import mock_aws

from headwater import aws as hw_aws
from headwater.handlers import records_summary
from headwater.handlers.records_summary import InvalidInput, parse_input
from headwater.records.weeks import parse_week
from tests.support.lambda_context import LambdaContext
from tests.unit.records.summary_support import BUCKET, EVENTS, OTHER, TABLE, create, put_records

UTC_ZONE = ZoneInfo("UTC")
DECLARED = {"events": EVENTS, "other": OTHER}
NOW = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)  # Wednesday of 2026-W49


def test_empty_input_is_the_week_before_now() -> None:
    request = parse_input({}, UTC_ZONE, DECLARED, now=NOW)
    assert str(request.week) == "2026-W48"
    assert request.datasets == ("events", "other")
    assert parse_input(None, UTC_ZONE, DECLARED, now=NOW) == request


def test_scheduled_time_picks_the_week_before_it_whenever_it_runs() -> None:
    # A retry or replay a week later still summarises the week before the scheduled time.
    event = {"scheduled_time": "2026-11-23T06:00:00Z"}
    later = NOW + timedelta(days=9)
    assert str(parse_input(event, UTC_ZONE, DECLARED, now=later).week) == "2026-W47"
    # In the schedule's zone: Monday 00:30 Berlin is Sunday 23:30Z.
    berlin = {"scheduled_time": "2026-11-29T23:30:00Z"}
    assert str(parse_input(berlin, ZoneInfo("Europe/Berlin"), DECLARED).week) == "2026-W48"
    assert str(parse_input(berlin, UTC_ZONE, DECLARED).week) == "2026-W47"


def test_week_and_datasets_given() -> None:
    event = {"week": "2026-W53", "scheduled_time": "2026-11-23T06:00:00Z", "datasets": ["other"]}
    request = parse_input(event, UTC_ZONE, DECLARED, now=NOW)
    assert request.week == parse_week("2026-W53") and request.datasets == ("other",)


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"week": "2027-W53"}, "week: 2027 has ISO weeks 1 to 52"),
        ({"week": "last"}, "week: 'last' is not an ISO week"),
        ({"weeks": "2026-W48"}, "unknown input key"),
        ({"datasets": ["nope"]}, "not declared: \\['nope'\\]"),
        ({"datasets": []}, "non-empty list"),
        ({"datasets": "events"}, "non-empty list"),
        ({"scheduled_time": "yesterday"}, "not RFC 3339"),
        ({"scheduled_time": "2026-11-23T06:00:00"}, "no offset"),
        ({"scheduled_time": 1700000000}, "RFC 3339 string"),
        (["2026-W48"], "JSON object"),
    ],
)
def test_bad_input_raises_a_clear_error(event, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_input(event, UTC_ZONE, DECLARED, now=NOW)


@pytest.fixture
def deployed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    (tmp_path / "events.toml").write_text(
        'dataset = "events"\nshards = 3\n[[fields]]\nname = "name"\ntype = "string"\n'
        'required = true\n[[fields]]\nname = "count"\ntype = "int64"\n'
    )
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "RECORDS_TABLE": TABLE,
        "EXPORT_BUCKET": BUCKET,
        "EXPORT_PREFIX": "weekly/",
        "SUMMARY_TIME_ZONE": "Europe/Berlin",
        "RECORDS_DIR": str(tmp_path),
        "POWERTOOLS_SERVICE_NAME": "records-summary",
        "POWERTOOLS_METRICS_NAMESPACE": "headwater-test",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        hw_aws.reset()
        dynamodb = boto3.client("dynamodb")
        s3 = boto3.client("s3")
        create(dynamodb, s3)
        yield boto3.resource("dynamodb").Table(TABLE), s3
    hw_aws.reset()


def test_handler_summarises_the_given_week(deployed) -> None:
    table, s3 = deployed
    start, _ = parse_week("2026-W48").bounds(ZoneInfo("Europe/Berlin"))
    put_records(
        table,
        EVENTS,
        [(start + timedelta(hours=i), "key-1", {"name": "n", "count": i}) for i in range(5)],
    )

    report = records_summary.handler({"week": "2026-W48"}, LambdaContext())

    assert report["week"] == "2026-W48" and report["time_zone"] == "Europe/Berlin"
    events = report["datasets"]["events"]
    assert events["total"] == 5 and events["items_read"] == 5
    assert events["summary"] == "weekly/events/week=2026-W48/summary.json"
    assert events["parts"] == ["weekly/events/week=2026-W48/part-00000.parquet"]
    json.dumps(report)  # the invocation's result must be JSON
    stored = json.loads(s3.get_object(Bucket=BUCKET, Key=events["summary"])["Body"].read())
    assert stored["per_producer"] == {"key-1": 5}


def test_handler_raises_on_bad_input(deployed) -> None:
    with pytest.raises(InvalidInput):
        records_summary.handler({"week": "2026-W99"}, LambdaContext())


def test_handler_raises_when_aws_fails(deployed, monkeypatch: pytest.MonkeyPatch) -> None:
    from boto3.exceptions import S3UploadFailedError
    from botocore.exceptions import ClientError

    monkeypatch.setenv("EXPORT_BUCKET", "hw-no-such-bucket")
    table, _ = deployed
    start, _ = parse_week("2026-W48").bounds(ZoneInfo("Europe/Berlin"))
    put_records(table, EVENTS, [(start, "key-1", {"name": "n"})])
    with pytest.raises((ClientError, S3UploadFailedError), match="NoSuchBucket"):
        records_summary.handler({"week": "2026-W48"}, LambdaContext())


def test_handler_raises_without_its_settings(deployed, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RECORDS_TABLE")
    with pytest.raises(RuntimeError, match="RECORDS_TABLE"):
        records_summary.handler({}, LambdaContext())
