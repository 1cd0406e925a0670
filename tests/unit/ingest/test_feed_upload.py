"""The uploader against moto's in-process S3: objects and manifest agree, unicode keys intact."""

from __future__ import annotations

import datetime as dt
import json

import boto3
import pytest
from moto import mock_aws

from headwater.feed.model import Expected, FeedFile
from headwater.feed.synthetic import SyntheticSource
from headwater.feed.upload import (
    DirectorySink,
    S3Sink,
    UploadError,
    manifest_document,
    raw_key,
    upload_all,
    write_manifest,
)

BUCKET = "raw-test"


@pytest.fixture
def s3(monkeypatch):
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        yield client


def source() -> SyntheticSource:
    return SyntheticSource(files=24, rows=5, seed=3, day=dt.date(2026, 11, 23))


def test_manifest_matches_the_objects_in_the_bucket(s3, tmp_path):
    done = []
    entries = upload_all(
        source().files(), S3Sink(s3, BUCKET), "ingest/", workers=4, on_done=done.append
    )
    assert len(done) == len(entries) == 24
    path = tmp_path / "out" / "manifest.json"
    write_manifest(
        path, manifest_document(entries, "synthetic", f"s3://{BUCKET}/ingest/", "ingest/")
    )
    manifest = json.loads(path.read_text(encoding="utf-8"))

    listed = {o["Key"]: o["Size"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert {f["key"]: f["size"] for f in manifest["files"]} == listed
    generated = list(source().files())
    assert [f["key"] for f in manifest["files"]] == ["ingest/" + g.key for g in generated]
    for entry, feed_file in zip(manifest["files"], generated, strict=True):
        head = s3.head_object(Bucket=BUCKET, Key=entry["key"])
        assert entry["version_id"] == head["VersionId"]
        assert entry["etag"] == head["ETag"].strip('"')
        assert entry["outcome"] == feed_file.expected.outcome
        assert entry["rows"] == feed_file.expected.rows and entry["rule"] == feed_file.expected.rule
        assert entry["uploaded_at"].endswith("Z")
    totals = manifest["totals"]
    assert totals["files"] == 24 and totals["curated"] + totals["quarantined"] == 24
    assert totals["rows"] == 5 * totals["curated"]


def test_unicode_keys_and_bodies_survive_the_round_trip(s3):
    key = "sales/Kunden März/orders 0007.csv"
    body = "order_id,coupon\n1,FRÜHJAHR\n".encode()
    files = [FeedFile(key, body, Expected.curated(1), dataset="sales")]
    [entry] = upload_all(files, S3Sink(s3, BUCKET), "ingest/")
    assert entry.key == "ingest/" + key
    obj = s3.get_object(Bucket=BUCKET, Key="ingest/" + key)
    assert obj["Body"].read() == body
    assert obj["ContentType"].startswith("text/csv")


def test_missing_bucket_fails_before_any_upload_with_a_clear_message(s3):
    with pytest.raises(UploadError, match="bucket 'nope' does not exist"):
        upload_all(source().files(), S3Sink(s3, "nope"), "ingest/")


def test_a_failing_put_stops_the_run_and_names_the_key(s3):
    class FlakySink(S3Sink):
        def put(self, key, body, content_type):
            if "0005" in key:
                raise OSError("disk on fire")
            return super().put(key, body, content_type)

    with pytest.raises(UploadError, match=r"0005.*disk on fire"):
        upload_all(source().files(), FlakySink(s3, BUCKET), "ingest/", workers=2)


def test_dry_run_sink_writes_the_same_layout(tmp_path):
    entries = upload_all(source().files(), DirectorySink(tmp_path), "ingest")
    for entry, feed_file in zip(entries, source().files(), strict=True):
        assert (tmp_path / entry.key).read_bytes() == feed_file.body
        assert entry.version_id is None and len(entry.etag or "") == 32


def test_raw_key_joins_prefixes_and_refuses_parent_segments():
    assert raw_key("ingest/", "sales/a.csv") == "ingest/sales/a.csv"
    assert raw_key("ingest", "sales/a.csv") == "ingest/sales/a.csv"
    assert raw_key("", "sales/a.csv") == "sales/a.csv"
    with pytest.raises(UploadError):
        raw_key("ingest/", "../etc/passwd")
