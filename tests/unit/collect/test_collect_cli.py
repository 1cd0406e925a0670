"""The collect CLI: the demo's schedule is one the API accepts, its curl posts it with the key,
and ``collect changes`` lists what the sink wrote (moto's S3, the sink's own objects)."""

from __future__ import annotations

import json
import shlex
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from headwater import aws as hw_aws
from headwater.cli import collect as cli
from headwater.cli import main
from headwater.collect import sink
from headwater.collect.s3_store import S3Store
from headwater.collect.schedules import InvalidSchedule, Rules, parse_create
from tests.support.collect import stream_record

RULES = Rules(min_interval=timedelta(minutes=60), now=datetime(2026, 12, 2, tzinfo=UTC))


def test_the_demo_schedule_is_valid():
    schedule = parse_create(cli.DEMO_SCHEDULE, RULES)
    assert (schedule.name, schedule.source) == ("demo-daily", "synthetic")


def test_the_validation_the_demo_relies_on_refuses_a_too_frequent_schedule():
    with pytest.raises(InvalidSchedule):
        parse_create({**cli.DEMO_SCHEDULE, "expression": "rate(5 minutes)"}, RULES)


def test_the_curl_command_posts_the_schedule_as_json_with_the_key():
    words = shlex.split(cli.curl_command("http://127.0.0.1:4580/local/", "k'ey", cli.DEMO_SCHEDULE))
    assert words[3] == "x-api-key: k'ey"
    assert json.loads(words[words.index("-d") + 1]) == cli.DEMO_SCHEDULE
    assert words[-1] == "http://127.0.0.1:4580/local/schedules"


@pytest.fixture
def outputs(tmp_path, monkeypatch: pytest.MonkeyPatch):
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    path = tmp_path / "outputs.json"
    path.write_text(
        json.dumps(
            {
                "collect_changes_bucket": {"value": "changes"},
                "collect_changes_prefix": {"value": "changes/"},
            }
        )
    )
    with mock_aws():
        hw_aws.reset()
        boto3.client("s3").create_bucket(Bucket="changes")
        yield path
    hw_aws.reset()


def test_changes_lists_each_file_with_its_rows_and_operations(outputs, capsys):
    records = [
        stream_record(1, day="2026-12-01"),
        stream_record(2, day="2026-12-01", campaign="campaign-02", operation="MODIFY"),
        stream_record(3, day="2026-12-02"),
    ]
    store = S3Store(hw_aws.client("s3"), "changes")
    result = sink.sink_batch({"Records": records}, store, "changes/")
    assert result.response == {"batchItemFailures": []}

    assert main(["collect", "changes", "--outputs", str(outputs)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert "dataset=synthetic/day=2026-12-01/" in lines[0]
    assert lines[0].endswith("rows=2  INSERT=1 MODIFY=1")
    assert lines[1].endswith("rows=1  INSERT=1")
    assert lines[2].startswith("2 file(s), 3 change record(s) in s3://changes/changes/")

    assert main(["collect", "changes", "--dataset", "synthetic", "--day", "2026-12-02",
                 "--outputs", str(outputs)]) == 0  # fmt: skip
    assert capsys.readouterr().out.splitlines()[-1].startswith("1 file(s), 1 change record(s)")


def test_changes_without_a_deployed_collect_is_a_clear_error(tmp_path, capsys):
    path = tmp_path / "outputs.json"
    path.write_text("{}")
    assert main(["collect", "changes", "--outputs", str(path)]) == 1
    assert "no collect_changes_bucket output" in capsys.readouterr().err
