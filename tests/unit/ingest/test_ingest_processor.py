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
        f"reports/ingest/sales/bad.csv/{bad.strip(chr(34))}.json",
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


def good_csv(order_id: int) -> bytes:
    return f"{HEADER}{order_id},2026-01-01,C,S,1,2.0,EUR,\n".encode()


def keys_in(s3, bucket):
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


def test_late_event_on_unversioned_bucket_never_converts_newer_content(s3):
    # moto 5.2.5 honours If-Match on GetObject (S3Response._get_key), so this runs end to end.
    key = "ingest/sales/overwritten.csv"
    old_etag = s3.put_object(Bucket="raw", Key=key, Body=good_csv(1))["ETag"]
    s3.put_object(Bucket="raw", Key=key, Body=good_csv(2))  # a producer overwrites it
    outcome = run(s3, key, old_etag.strip('"'))  # the first upload's event arrives late
    assert outcome.status == "skipped"
    assert "superseded" in outcome.message
    assert keys_in(s3, "cur") == [], "newer content must not be written under the old ETag"
    assert keys_in(s3, "qua") == []
    assert s3.get_object(Bucket="raw", Key=key)["Body"].read() == good_csv(2)


def test_quarantine_keeps_a_newer_upload_of_the_same_key(s3):
    s3.put_bucket_versioning(Bucket="raw", VersioningConfiguration={"Status": "Enabled"})
    key = "ingest/sales/replaced.csv"
    bad = s3.put_object(Bucket="raw", Key=key, Body=HEADER)  # empty: breaks the contract
    good = s3.put_object(Bucket="raw", Key=key, Body=good_csv(7))
    outcome = run(s3, key, bad["ETag"], version_id=bad["VersionId"])
    assert (outcome.status, outcome.rule) == ("quarantined", "empty_file")
    file_key = f"files/{key}/{bad['VersionId']}/replaced.csv"
    assert s3.get_object(Bucket="qua", Key=file_key)["Body"].read() == HEADER.encode()
    versions = s3.list_object_versions(Bucket="raw", Prefix=key)
    assert versions.get("DeleteMarkers", []) == [], "the newer upload must stay visible"
    assert s3.head_object(Bucket="raw", Key=key)["VersionId"] == good["VersionId"]


def test_quarantine_on_unversioned_bucket_keeps_content_replaced_after_the_copy(s3):
    key = "ingest/sales/raced.csv"
    bad_etag = s3.put_object(Bucket="raw", Key=key, Body=HEADER)["ETag"]
    producer = boto3.client("s3", region_name="us-east-1")

    def overwrite_after_report(**kwargs):
        # A producer uploads new content between the quarantine copy and the raw delete.
        if kwargs["params"]["Bucket"] == "qua":
            producer.put_object(Bucket="raw", Key=key, Body=good_csv(9))

    s3.meta.events.register("before-parameter-build.s3.PutObject", overwrite_after_report)
    outcome = run(s3, key, bad_etag.strip('"'))
    assert (outcome.status, outcome.rule) == ("quarantined", "empty_file")
    assert s3.get_object(Bucket="raw", Key=key)["Body"].read() == good_csv(9)


def test_quarantine_copy_of_replaced_unversioned_object_is_superseded(s3):
    from headwater.contracts.rules import EMPTY_FILE, ContractViolation
    from headwater.ingest.processor import quarantine

    key = "ingest/sales/replaced-before-copy.csv"
    bad_etag = s3.put_object(Bucket="raw", Key=key, Body=HEADER)["ETag"]
    s3.put_object(Bucket="raw", Key=key, Body=good_csv(3))
    source = {"bucket": "raw", "key": key, "version_id": None, "etag": bad_etag, "size": None}
    violation = ContractViolation(EMPTY_FILE, "no rows")
    outcome = quarantine(s3, source, "sales", violation, "qua")
    assert outcome.status == "skipped" and "superseded" in outcome.message
    assert keys_in(s3, "qua") == [], "the newer content is not what was judged"
    assert s3.get_object(Bucket="raw", Key=key)["Body"].read() == good_csv(3)


@pytest.mark.parametrize("size", [None, 13])
def test_a_key_ending_in_a_slash_that_holds_data_is_quarantined(s3, size):
    key = "ingest/sales/exports/"
    etag = s3.put_object(Bucket="raw", Key=key, Body=b"order_id\n1\n2\n")["ETag"]
    outcome = process_object(
        s3=s3,
        bucket="raw",
        key=key,
        version_id=None,
        etag=etag,
        size=size,
        event_time=None,
        contracts=load_contracts(),
        curated_bucket="cur",
        quarantine_bucket="qua",
        ingest_prefix="ingest/",
    )
    assert (outcome.status, outcome.rule) == ("quarantined", "folder_key_with_data")
    assert "holds 13 bytes" in outcome.message
    file_key = f"files/{key}{etag.strip(chr(34))}/exports"
    assert s3.get_object(Bucket="qua", Key=file_key)["Body"].read() == b"order_id\n1\n2\n"
    assert s3.list_objects_v2(Bucket="raw")["KeyCount"] == 0


def test_two_bad_versions_of_one_key_keep_both_copies_and_reports(s3):
    s3.put_bucket_versioning(Bucket="raw", VersioningConfiguration={"Status": "Enabled"})
    key = "ingest/sales/twice.csv"
    first = s3.put_object(Bucket="raw", Key=key, Body=HEADER)  # empty_file
    second = s3.put_object(Bucket="raw", Key=key, Body=HEADER + "x,2026-01-01,C,S,1,2.0,EUR,\n")
    outcomes = [run(s3, key, v["ETag"], version_id=v["VersionId"]) for v in (first, second)]
    assert [o.rule for o in outcomes] == ["empty_file", "type_mismatch"]
    assert keys_in(s3, "qua") == sorted(
        [
            f"files/{key}/{first['VersionId']}/twice.csv",
            f"files/{key}/{second['VersionId']}/twice.csv",
            f"reports/{key}/{first['VersionId']}.json",
            f"reports/{key}/{second['VersionId']}.json",
        ]
    )
    assert [o.report_key for o in outcomes] == [
        f"reports/{key}/{first['VersionId']}.json",
        f"reports/{key}/{second['VersionId']}.json",
    ]
