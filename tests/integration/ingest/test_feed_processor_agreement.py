"""The feeder's expectations agree with what the processor really does with each file.

Every synthetic file (good, unicode-keyed and each bad kind) is uploaded with the feeder and then
processed with the processor's domain code, both against moto's in-process S3.
"""

from __future__ import annotations

import datetime as dt

import boto3
import pytest
from moto import mock_aws

from headwater.feed.synthetic import SyntheticSource
from headwater.feed.upload import S3Sink, upload_all
from headwater.ingest.contracts import load_contracts
from headwater.ingest.processor import process_object

pytestmark = pytest.mark.integration

RAW, CURATED, QUARANTINE = "raw", "curated", "quarantine"


@pytest.fixture
def s3(monkeypatch):
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        for bucket in (RAW, CURATED, QUARANTINE):
            client.create_bucket(Bucket=bucket)
        client.put_bucket_versioning(Bucket=RAW, VersioningConfiguration={"Status": "Enabled"})
        yield client


def test_every_expected_outcome_is_what_the_processor_reports(s3, tmp_path):
    source = SyntheticSource(files=45, rows=30, bad_share=0.4, seed=11, day=dt.date(2026, 11, 23))
    entries = upload_all(source.files(), S3Sink(s3, RAW), "ingest/", workers=4)
    contracts = load_contracts()
    assert {e.rule for e in entries if e.rule} >= {
        "malformed",
        "type_mismatch",
        "missing_column",
        "empty_file",
        "encoding",
        "unsupported_format",
        "unknown_dataset",
        "null_value",
        "duplicate_key",
    }
    mismatches = []
    for entry in entries:
        outcome = process_object(
            s3=s3,
            bucket=RAW,
            key=entry.key,
            version_id=entry.version_id,
            etag=entry.etag,
            size=entry.size,
            event_time="2026-11-23T10:00:00Z",
            contracts=contracts,
            curated_bucket=CURATED,
            quarantine_bucket=QUARANTINE,
            ingest_prefix="ingest/",
            work_dir=str(tmp_path),
        )
        got = (outcome.status, outcome.rows if outcome.status == "curated" else outcome.rule)
        want = (entry.outcome, entry.rows if entry.outcome == "curated" else entry.rule)
        if got != want:
            mismatches.append((entry.key, want, got, outcome.message))
    assert mismatches == []
