"""process_object on moto S3: layout of output keys, skips, and redelivery without versioning."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from headwater.ingest.contracts import load_contracts
from headwater.ingest.processor import curated_key, process_object

HEADER = "order_id,order_date,customer_id,sku,quantity,unit_price,currency,coupon\n"


@pytest.fixture
def s3(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        for bucket in ("raw", "cur", "qua"):
            client.create_bucket(Bucket=bucket)
        yield client


def run(s3, key, etag, version_id=None):
    return process_object(
        s3=s3,
        bucket="raw",
        key=key,
        version_id=version_id,
        etag=etag,
        size=None,
        event_time="2026-11-23T23:59:59Z",
        contracts=load_contracts(),
        curated_bucket="cur",
        quarantine_bucket="qua",
        ingest_prefix="ingest/",
    )


def test_curated_key_layout():
    assert (
        curated_key("sales", "sales/2026/orders-001.csv", "v1", '"abc"', "2026-11-23T10:00:00Z")
        == "sales/ingest_date=2026-11-23/orders-001-v1.parquet"
    )
    assert curated_key("sales", "sales/a b.csv", None, '"abc"', "2026-01-02T00:00:00+00:00") == (
        "sales/ingest_date=2026-01-02/a b-abc.parquet"
    )


def test_unversioned_bucket_uses_etag_and_survives_redelivery_after_quarantine(s3):
    etag = s3.put_object(
        Bucket="raw", Key="ingest/sales/ok.csv", Body=HEADER + "1,2026-01-01,C,S,1,2.0,EUR,\n"
    )["ETag"]
    outcome = run(s3, "ingest/sales/ok.csv", etag)
    assert outcome.status == "curated" and outcome.rows == 1
    assert outcome.output_key == f"sales/ingest_date=2026-11-23/ok-{etag.strip(chr(34))}.parquet"

    bad = s3.put_object(Bucket="raw", Key="ingest/sales/bad.csv", Body=HEADER)["ETag"]
    first = run(s3, "ingest/sales/bad.csv", bad)
    assert (first.status, first.rule) == ("quarantined", "empty_file")
    assert "Contents" not in s3.list_objects_v2(Bucket="raw", Prefix="ingest/sales/bad")
    # The object is gone (no versioning); the redelivered event finds the earlier report.
    again = run(s3, "ingest/sales/bad.csv", bad)
    assert (again.status, again.rule, again.report_key) == (
        "quarantined",
        "empty_file",
        "reports/ingest/sales/bad.csv.json",
    )


def test_missing_object_without_report_is_an_error_to_retry(s3):
    with pytest.raises(s3.exceptions.ClientError):
        run(s3, "ingest/sales/never.csv", '"x"')


@pytest.mark.parametrize("key", ["lookup/staff.csv", "ingest/sales/"])
def test_keys_outside_the_ingest_root_and_folder_markers_are_skipped(s3, key):
    s3.put_object(Bucket="raw", Key=key, Body=b"")
    assert run(s3, key, '"x"').status == "skipped"
    assert s3.list_objects_v2(Bucket="raw")["KeyCount"] == 1
    assert s3.list_objects_v2(Bucket="qua")["KeyCount"] == 0
