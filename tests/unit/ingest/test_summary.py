"""The summary accounts for each fed file by looking where the processor puts it."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from headwater.ingest.summary import CURATED, DLQ, PENDING, QUARANTINED, Ledger, Places, render


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        s3 = boto3.client("s3")
        sqs = boto3.client("sqs")
        for name in ("raw", "curated", "quarantine"):
            s3.create_bucket(Bucket=name)
        s3.put_bucket_versioning(Bucket="raw", VersioningConfiguration={"Status": "Enabled"})
        dlq = sqs.create_queue(QueueName="dlq")["QueueUrl"]
        yield s3, sqs, Places("raw", "curated", "quarantine", dlq)


def _manifest(*entries):
    names = ("key", "outcome", "rule", "rows", "version_id")
    return {"files": [dict(zip(names, e, strict=False)) for e in entries]}


def test_each_file_is_found_where_the_processor_left_it(aws):
    s3, sqs, places = aws
    good = s3.put_object(Bucket="raw", Key="ingest/sales/a b.csv", Body=b"x")["VersionId"]
    s3.put_object(
        Bucket="curated",
        Key=f"sales/ingest_date=2026-11-23/a b-{good}.parquet",
        Body=b"p",
        Metadata={"rows": "7"},
    )
    s3.put_object(
        Bucket="quarantine",
        Key="reports/ingest/sales/bad.csv/v1.json",
        Body=json.dumps({"rule": "malformed"}).encode(),
    )
    event = {"detail": {"object": {"key": "ingest/events/poison.ndjson"}}}
    sqs.send_message(QueueUrl=places.dlq_url, MessageBody=json.dumps(event))
    ledger = Ledger.from_manifest(
        _manifest(
            ("ingest/sales/a b.csv", "curated", None, 7),
            ("ingest/sales/bad.csv", "quarantined", "malformed", None),
            ("ingest/events/poison.ndjson", "curated", None, 3),
            ("ingest/sales/late.csv", "curated", None, 1),
        ),
        places,
    )

    ledger.refresh(s3, sqs)

    states = {f.key: f.state for f in ledger.files}
    assert states == {
        "ingest/sales/a b.csv": CURATED,
        "ingest/sales/bad.csv": QUARANTINED,
        "ingest/events/poison.ndjson": DLQ,
        "ingest/sales/late.csv": PENDING,
    }
    assert ledger.files[0].rows == 7 and ledger.files[0].as_expected
    assert ledger.files[1].rule == "malformed" and ledger.files[1].as_expected
    assert not ledger.files[2].as_expected  # expected curated, parked in the DLQ
    table = render(ledger)
    assert "files sent                     4" in table
    assert "not accounted for              1" in table
    assert "ingest/events/poison.ndjson: expected curated, got dlq" in table
    # Peeking leaves the DLQ message in place, so it can still be redriven.
    attrs = sqs.get_queue_attributes(QueueUrl=places.dlq_url, AttributeNames=["All"])
    assert attrs["Attributes"]["ApproximateNumberOfMessages"] == "1"


def test_a_wrong_quarantine_rule_is_not_as_expected(aws):
    s3, sqs, places = aws
    s3.put_object(
        Bucket="quarantine",
        Key="reports/ingest/sales/x.csv/v1.json",
        Body=json.dumps({"rule": "type_mismatch"}).encode(),
    )
    ledger = Ledger.from_manifest(
        _manifest(("ingest/sales/x.csv", "quarantined", "malformed", None)), places
    )
    ledger.refresh(s3, sqs)
    assert ledger.files[0].state == QUARANTINED
    assert not ledger.files[0].as_expected


def test_outputs_must_name_the_buckets():
    with pytest.raises(ValueError, match="curated_bucket"):
        Places.from_outputs({"raw_bucket": {"value": "r"}, "quarantine_bucket": {"value": "q"}})
    places = Places.from_outputs(
        {n: {"value": n} for n in ("raw_bucket", "curated_bucket", "quarantine_bucket")}
    )
    assert places.curated_bucket == "curated_bucket" and places.dlq_url is None


def test_every_dlq_message_is_found_and_left_for_a_redrive(aws):
    s3, sqs, places = aws
    keys = [f"ingest/events/poison-{i:02d}.ndjson" for i in range(25)]
    for key in keys:
        event = {"detail": {"object": {"key": key}}}
        sqs.send_message(QueueUrl=places.dlq_url, MessageBody=json.dumps(event))
    ledger = Ledger.from_manifest(_manifest(*((k, "curated", None, 1) for k in keys)), places)

    ledger.refresh(s3, sqs)

    assert [f.state for f in ledger.files] == [DLQ] * 25
    visible = sqs.receive_message(QueueUrl=places.dlq_url, MaxNumberOfMessages=10)
    assert len(visible.get("Messages", [])) == 10, "peeked messages must be visible again"


def test_a_second_run_does_not_count_the_first_runs_outputs(aws):
    s3, sqs, places = aws
    key = "ingest/sales/orders.csv"
    first = s3.put_object(Bucket="raw", Key=key, Body=b"1")["VersionId"]
    second = s3.put_object(Bucket="raw", Key=key, Body=b"2")["VersionId"]
    s3.put_object(
        Bucket="curated", Key=f"sales/ingest_date=2026-11-23/orders-{first}.parquet", Body=b"p"
    )
    report = {"rule": "malformed", "source": {"key": key, "version_id": first}}
    s3.put_object(
        Bucket="quarantine", Key=f"reports/{key}/{first}.json", Body=json.dumps(report).encode()
    )
    ledger = Ledger.from_manifest(_manifest((key, "curated", None, 1, second)), places)

    ledger.refresh(s3, sqs)

    assert ledger.files[0].state == PENDING
    s3.put_object(
        Bucket="curated", Key=f"sales/ingest_date=2026-11-23/orders-{second}.parquet", Body=b"p"
    )
    ledger.refresh(s3, sqs)
    assert ledger.files[0].state == CURATED
