"""End to end, as a new user runs it: ``./setup.sh run`` deploys the local environment with
``terraform apply`` into the embedded emulator, feeds synthetic files (bad ones included) and
accounts for every one; then we check the Parquet content, the quarantine reports, a redelivered
event, and that ``./setup.sh destroy`` leaves nothing running.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
import uuid
from pathlib import PurePosixPath

import boto3
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq
import pytest

from headwater.ingest.processor import quarantine_keys
from tests.support.e2e import DAY, FILES, ROOT, SEED, terraform_plan

pytestmark = pytest.mark.e2e

# The session's platform fixture (one ./setup.sh run for every e2e module) is in conftest.py.


def _client(platform, service):
    return boto3.client(
        service,
        endpoint_url=platform["endpoint"],
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def _outputs(platform):
    raw = json.loads((platform["state"] / "local" / "outputs.json").read_text())
    return {name: value["value"] for name, value in raw.items()}


def _manifest(platform):
    (path,) = sorted((platform["state"] / "local").glob("manifest-*.json"))
    return json.loads(path.read_text())


def test_run_accounts_for_every_file(platform):
    run = platform["run"]
    assert run.returncode == 0, f"stdout:\n{run.stdout}\nstderr:\n{run.stderr}"
    assert f"{'files sent':<24}{FILES:>8}" in run.stdout
    assert f"{'not accounted for':<24}{0:>8}" in run.stdout
    manifest = _manifest(platform)
    assert len(manifest["files"]) == FILES
    assert {f["outcome"] for f in manifest["files"]} == {"curated", "quarantined"}


def test_summary_accounts_for_every_raw_version_in_a_window(platform):
    """No manifest: every raw version under the ingest root uploaded in the last two hours, found
    where the processor left it (the same files the feed sent, all settled)."""
    manifest = _manifest(platform)["files"]
    done = subprocess.run(
        [sys.executable, "-m", "headwater", "ingest", "summary", "--prefix", "ingest/",
         "--since", "2h", "--outputs", str(platform["state"] / "local" / "outputs.json")],
        cwd=ROOT, env=platform["local_env"], capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    curated = sum(f["outcome"] == "curated" for f in manifest)
    assert f"{'raw versions':<24}{len(manifest):>8}" in done.stdout, done.stdout
    assert f"{'curated':<24}{curated:>8}" in done.stdout, done.stdout
    assert f"{'quarantined':<24}{len(manifest) - curated:>8}" in done.stdout, done.stdout
    assert f"{'not accounted for':<24}{0:>8}" in done.stdout, done.stdout


def test_a_second_plan_changes_nothing(platform):
    """The modules converge: applying again (``./setup.sh deploy`` twice) changes nothing."""
    plan = terraform_plan(platform)
    assert plan.returncode == 0, plan.stdout[-4000:] + plan.stderr[-2000:]


def test_parquet_rows_equal_the_input_rows(platform, tmp_path):
    outputs = _outputs(platform)
    s3 = _client(platform, "s3")
    # The synthetic source is deterministic: regenerate the same files locally to compare with.
    subprocess.run(
        [sys.executable, "-m", "headwater.cli", "feed", "--dry-run", "--out", str(tmp_path),
         "--files", str(FILES), "--seed", str(SEED), "--date", DAY, "--quiet"],
        cwd=ROOT, check=True, env=platform["env"], capture_output=True,
    )  # fmt: skip
    curated = {
        PurePosixPath(o["Key"]).name: o["Key"]
        for o in s3.list_objects_v2(Bucket=outputs["curated_bucket"]).get("Contents", [])
    }
    checked = 0
    for entry in _manifest(platform)["files"]:
        if entry["outcome"] != "curated":
            continue
        relative = entry["key"].removeprefix("ingest/")
        source = (tmp_path / entry["key"]).read_bytes()  # the dry run keeps the ingest root
        stem = PurePosixPath(relative).stem
        key = curated[f"{stem}-{entry['version_id']}.parquet"]
        body = s3.get_object(Bucket=outputs["curated_bucket"], Key=key)["Body"].read()
        table = pq.read_table(io.BytesIO(body))
        expected = _read_input(relative, source, table.schema)
        assert table.num_rows == entry["rows"] == expected.num_rows
        assert table.to_pylist() == expected.to_pylist(), key
        checked += 1
    assert checked >= FILES // 2


def _read_input(relative, data, schema):
    if relative.endswith(".csv"):
        # CSV has no null: an empty field is null, as the processor reads it.
        options = pacsv.ConvertOptions(column_types=schema, strings_can_be_null=True)
        return pacsv.read_csv(io.BytesIO(data), convert_options=options).select(schema.names)
    if relative.endswith(".json"):
        data = b"\n".join(json.dumps(r).encode() for r in json.loads(data))
    options = pajson.ParseOptions(explicit_schema=schema)
    return pajson.read_json(io.BytesIO(data), parse_options=options).select(schema.names)


def test_quarantine_reports_name_the_broken_rule(platform):
    outputs = _outputs(platform)
    s3 = _client(platform, "s3")
    bad = [f for f in _manifest(platform)["files"] if f["outcome"] == "quarantined"]
    assert bad
    for entry in bad:
        # Quarantined copies and reports are per version of the key.
        file_key, report_key = quarantine_keys(entry["key"], entry["version_id"], entry["etag"])
        report = json.loads(
            s3.get_object(Bucket=outputs["quarantine_bucket"], Key=report_key)["Body"].read()
        )
        assert report["rule"] == entry["rule"], entry["key"]
        assert report["source"]["key"] == entry["key"]
        s3.head_object(Bucket=outputs["quarantine_bucket"], Key=file_key)


def test_a_redelivered_event_rewrites_the_same_object(platform):
    outputs = _outputs(platform)
    s3, sqs = _client(platform, "s3"), _client(platform, "sqs")
    bucket = outputs["curated_bucket"]
    before = {o["Key"]: o for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    entry = next(f for f in _manifest(platform)["files"] if f["outcome"] == "curated")
    stem = PurePosixPath(entry["key"]).stem
    key = next(
        k for k in before if PurePosixPath(k).name == f"{stem}-{entry['version_id']}.parquet"
    )
    day = key.split("ingest_date=")[1].split("/")[0]
    event = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": "123456789012",
        "time": f"{day}T12:00:00Z",
        "region": "us-east-1",
        "resources": [f"arn:aws:s3:::{outputs['raw_bucket']}"],
        "detail": {
            "version": "0",
            "bucket": {"name": outputs["raw_bucket"]},
            "object": {
                "key": entry["key"],
                "size": entry["size"],
                "etag": entry["etag"],
                "version-id": entry["version_id"],
                "sequencer": "0",
            },
            "request-id": "E2E",
            "requester": "123456789012",
            "source-ip-address": "127.0.0.1",
            "reason": "PutObject",
        },
    }
    sqs.send_message(QueueUrl=outputs["queue_url"], MessageBody=json.dumps(event))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        head = s3.head_object(Bucket=bucket, Key=key)
        if head["LastModified"] > before[key]["LastModified"]:
            break
        time.sleep(1)
    else:
        pytest.fail("the redelivered event was not processed within 120 s")
    after = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert sorted(after) == sorted(before), "redelivery must not add an object"
