"""``headwater records summary`` in the local mode: the CLI invokes the summary function through
a runner of its own, against a real moto server, with the function's role checked as the local
mode checks it (least privilege: the statements below are all it needs)."""

from __future__ import annotations

import io
import json
import uuid
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import boto3
import pyarrow.parquet as pq
import pytest

from headwater import aws as aws_clients
from headwater.cli import records_summary
from headwater.records.weeks import parse_week
from tests.support.emulator import code_zip, lambda_role
from tests.unit.records.summary_support import create_table, put_records

pytestmark = pytest.mark.integration

DECLARATION = """
dataset = "orders"
shards = 2
[[fields]]
name = "order_id"
type = "string"
required = true
[[fields]]
name = "amount"
type = "float64"
"""
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def deployed(emulator, aws, monkeypatch, tmp_path: Path):
    from headwater.records.declarations import load_record_datasets

    suffix = uuid.uuid4().hex[:6]
    table, bucket, function = f"records-{suffix}", f"exports-{suffix}", f"summary-{suffix}"
    (tmp_path / "decl").mkdir()
    (tmp_path / "decl" / "orders.toml").write_text(DECLARATION)
    dataset = load_record_datasets(tmp_path / "decl")["orders"]
    create_table(aws("dynamodb"), table)
    aws("s3").create_bucket(Bucket=bucket)
    table_arn = aws("dynamodb").describe_table(TableName=table)["Table"]["TableArn"]
    role = lambda_role(
        aws("iam"),
        f"summary-{suffix}",
        [
            {"Effect": "Allow", "Action": "dynamodb:Query", "Resource": table_arn},
            {
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": f"arn:aws:s3:::{bucket}",
                "Condition": {"StringLike": {"s3:prefix": "summaries/*"}},
            },
            {
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:DeleteObject"],
                "Resource": f"arn:aws:s3:::{bucket}/summaries/*",
            },
        ],
    )
    aws("lambda").create_function(
        FunctionName=function,
        Runtime="python3.12",
        Role=role,
        Handler="headwater.handlers.records_summary.handler",
        Timeout=60,
        Environment={
            "Variables": {
                "RECORDS_TABLE": table,
                "EXPORT_BUCKET": bucket,
                "SUMMARY_TIME_ZONE": "Europe/Berlin",
                "RECORDS_DIR": str(tmp_path / "decl"),
                "POWERTOOLS_SERVICE_NAME": "records-summary",
                "POWERTOOLS_METRICS_NAMESPACE": "headwater-test",
            }
        },
        Code={"ZipFile": code_zip()},
    )
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"records_summary_function_name": {"value": function}}))
    monkeypatch.setenv("ENV", "local")
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    aws_clients.reset()
    resource = boto3.resource(
        "dynamodb", endpoint_url=emulator.endpoint_url, region_name="us-east-1"
    ).Table(table)
    yield {"table": resource, "bucket": bucket, "dataset": dataset, "outputs": outputs}
    aws_clients.reset()


def test_summary_command_writes_the_week_and_reports_it(deployed, aws, capsys) -> None:
    start, _ = parse_week("2026-W48").bounds(BERLIN)
    rows = [
        (start + timedelta(hours=5 * i), f"key-{i % 2}", {"order_id": f"o{i}", "amount": i / 4})
        for i in range(30)
    ]
    put_records(deployed["table"], deployed["dataset"], rows)
    argv = ["summary", "--week", "2026-W48", "--outputs", str(deployed["outputs"])]

    assert records_summary.main(argv) == 0

    report = json.loads(capsys.readouterr().out)
    orders = report["datasets"]["orders"]
    assert report["week"] == "2026-W48" and orders["total"] == 30 and orders["items_read"] == 30
    s3 = aws("s3")
    table = pq.read_table(
        io.BytesIO(s3.get_object(Bucket=deployed["bucket"], Key=orders["parts"][0])["Body"].read())
    )
    assert sorted(table.column("amount").to_pylist()) == [i / 4 for i in range(30)]
    summary = json.loads(
        s3.get_object(Bucket=deployed["bucket"], Key=orders["summary"])["Body"].read()
    )
    assert summary["per_producer"] == {"key-0": 15, "key-1": 15}

    # A rerun: the same objects.
    listed = s3.list_objects_v2(Bucket=deployed["bucket"])["Contents"]
    assert records_summary.main(argv) == 0
    again = s3.list_objects_v2(Bucket=deployed["bucket"])["Contents"]
    assert sorted(o["Key"] for o in again) == sorted(o["Key"] for o in listed)


def test_a_function_error_exits_1_with_its_message(deployed, capsys) -> None:
    argv = [
        "summary",
        "--week",
        "2026-W48",
        "--dataset",
        "nope",
        "--outputs",
        str(deployed["outputs"]),
    ]

    assert records_summary.main(argv) == 1

    err = capsys.readouterr().err
    assert "InvalidInput" in err and "not declared: ['nope']" in err


def test_outputs_without_the_function_say_so(deployed, tmp_path: Path, capsys) -> None:
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"raw_bucket": {"value": "b"}}))

    assert records_summary.main(["summary", "--outputs", str(other)]) == 1

    assert "no 'records_summary_function_name'" in capsys.readouterr().err
