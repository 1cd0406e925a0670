"""``headwater ingest summary --prefix --since`` against a real moto server.

The processor's own domain code curates and quarantines real uploads in the emulator; one event
is parked in the DLQ, one upload is never processed, and one curated output is deleted. The
command must account for each version and name the two that are missing.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest

from headwater import aws as aws_clients
from headwater import cli
from headwater.ingest.contracts import load_contracts
from headwater.ingest.processor import process_object

pytestmark = pytest.mark.integration

HEADER = "order_id,order_date,customer_id,sku,quantity,unit_price,currency,coupon\n"
GOOD = (HEADER + "1,2026-11-23,C0001,SKU-1,1,1.5,EUR,\n").encode()
BAD = (HEADER + "1,2026-11-23,C0001,SKU-1,lots,1.5,EUR,\n").encode()


@pytest.fixture
def deployment(emulator, aws, monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    aws_clients.reset()
    suffix = uuid.uuid4().hex[:8]
    names = {n: f"window-{n}-{suffix}" for n in ("raw", "curated", "quarantine")}
    s3, sqs = aws("s3"), aws("sqs")
    for bucket in names.values():
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=names["raw"], VersioningConfiguration={"Status": "Enabled"})
    dlq = sqs.create_queue(QueueName=f"window-dlq-{suffix}")["QueueUrl"]
    outputs = tmp_path / "outputs.json"
    values = {
        "raw_bucket": names["raw"],
        "curated_bucket": names["curated"],
        "quarantine_bucket": names["quarantine"],
        "dlq_url": dlq,
        "key_prefix": "ingest/",
    }
    outputs.write_text(json.dumps({k: {"value": v} for k, v in values.items()}))
    yield {**names, "dlq": dlq, "outputs": outputs, "s3": s3, "sqs": sqs}
    aws_clients.reset()


def _upload_and_process(d, key: str, body: bytes, tmp_path) -> dict:
    put = d["s3"].put_object(Bucket=d["raw"], Key=key, Body=body)
    outcome = process_object(
        s3=d["s3"],
        bucket=d["raw"],
        key=key,
        version_id=put["VersionId"],
        etag=put["ETag"].strip('"'),
        size=len(body),
        event_time=dt.datetime.now(dt.UTC).isoformat(),
        contracts=load_contracts(),
        curated_bucket=d["curated"],
        quarantine_bucket=d["quarantine"],
        ingest_prefix="ingest/",
        work_dir=str(tmp_path),
    )
    return {"version": put["VersionId"], "outcome": outcome}


def _summary(d, *extra: str) -> list[str]:
    return ["ingest", "summary", "--prefix", "ingest/sales/", "--since", "1h",
            "--outputs", str(d["outputs"]), *extra]  # fmt: skip


def test_every_version_in_the_window_is_accounted_for_or_named(deployment, tmp_path, capsys):
    d = deployment
    good = _upload_and_process(d, "ingest/sales/w/good.csv", GOOD, tmp_path)
    bad = _upload_and_process(d, "ingest/sales/w/bad.csv", BAD, tmp_path)
    assert (good["outcome"].status, bad["outcome"].rule) == ("curated", "type_mismatch")
    gone = _upload_and_process(d, "ingest/sales/w/gone.csv", GOOD, tmp_path)
    d["s3"].delete_object(Bucket=d["curated"], Key=gone["outcome"].output_key)
    parked = d["s3"].put_object(Bucket=d["raw"], Key="ingest/sales/w/parked.csv", Body=GOOD)
    event = {"detail": {"object": {"key": "ingest/sales/w/parked.csv",
                                   "version-id": parked["VersionId"]}}}  # fmt: skip
    d["sqs"].send_message(QueueUrl=d["dlq"], MessageBody=json.dumps(event))
    waiting = d["s3"].put_object(Bucket=d["raw"], Key="ingest/sales/w/waiting.csv", Body=GOOD)

    # Within the grace period the unprocessed upload is in flight; the deleted output is too
    # young to be called missing as well: both are named, the exit code says "not settled".
    assert cli.main(_summary(d)) == 1
    out = capsys.readouterr().out
    assert f"{'raw versions':<24}{5:>8}" in out
    assert f"{'curated':<24}{1:>8}" in out
    assert f"{'quarantined':<24}{1:>8}" in out and f"{'  type_mismatch':<24}{1:>8}" in out
    assert f"{'in the DLQ':<24}{1:>8}" in out
    assert f"{'in flight':<24}{2:>8}" in out
    assert f"  ingest/sales/w/parked.csv\t{parked['VersionId']}\t" in out

    # With no grace, both are named as not accounted for, one per line with the version id.
    assert cli.main([*_summary(d), "--grace", "0"]) == 1
    out = capsys.readouterr().out
    assert f"{'not accounted for':<24}{2:>8}" in out
    missing = out.split("not accounted for (key, version id, uploaded):\n", 1)[1].splitlines()
    assert [line.split("\t")[:2] for line in missing if line.startswith("  ")] == [
        ["  ingest/sales/w/gone.csv", gone["version"]],
        ["  ingest/sales/w/waiting.csv", waiting["VersionId"]],
    ]
    # The DLQ message is still there for a redrive.
    attributes = d["sqs"].get_queue_attributes(QueueUrl=d["dlq"], AttributeNames=["All"])
    assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "1"

    # A window that holds only settled versions exits 0.
    until = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    settled = ["ingest", "summary", "--prefix", "ingest/sales/w/b", "--since", "1h",
               "--until", until.isoformat(), "--outputs", str(d["outputs"])]  # fmt: skip
    assert cli.main(settled) == 0
    assert f"{'quarantined':<24}{1:>8}" in capsys.readouterr().out
