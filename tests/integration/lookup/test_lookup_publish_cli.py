"""``headwater lookup publish --wait`` against a real moto server, with the real loader.

The loader Lambda is not running here: the CLI's poll sleep stands in for the EventBridge rule
and runs ``load_lookup`` on S3 events with the times S3 would give them, so the CLI's follow-up
reads the manifests and pointer the loader really wrote.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from headwater import aws as aws_clients
from headwater import cli
from headwater.cli import lookup as lookup_cli
from headwater.lookup.contracts import load_lookups
from headwater.lookup.loader import Source, load_lookup
from headwater.lookup.store import LookupStore
from tests.support.lookup import create_lookup_table
from tests.support.paths import ROOT

EXAMPLE = ROOT / "examples" / "lookup" / "employees.csv"
UPLOAD_TIME = dt.datetime(2026, 12, 1, 9, 0, 0, tzinfo=dt.UTC)


@pytest.fixture
def deployed(emulator, aws, monkeypatch, tmp_path):
    """A versioned raw bucket and a lookup table, and the CLI pointed at the emulator."""
    suffix = uuid.uuid4().hex[:8]
    bucket, table = f"raw-{suffix}", f"lookup-{suffix}"
    aws("s3").create_bucket(Bucket=bucket)
    aws("s3").put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    create_lookup_table(aws("dynamodb"), table)
    for name, value in {
        "AWS_ENDPOINT_URL": emulator.endpoint_url,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    aws_clients.reset()
    yield {"bucket": bucket, "table": table, "store": LookupStore(table, aws("dynamodb"))}
    aws_clients.reset()


def load(aws, deployed, key: str, version_id: str, seconds: int):
    """What the EventBridge rule does: run the loader on an upload S3 timed ``seconds`` in."""
    when = UPLOAD_TIME + dt.timedelta(seconds=seconds)
    return load_lookup(
        s3=aws("s3"),
        store=deployed["store"],
        source=Source(
            deployed["bucket"], key, version_id, event_time=when.strftime("%Y-%m-%dT%H:%M:%SZ")
        ),
        lookups=load_lookups(),
    )


def publish(deployed, path, wait: str = "30") -> int:
    return cli.main(
        [
            *("lookup", "publish", str(path), "--dataset", "employees"),
            *("--bucket", deployed["bucket"], "--table", deployed["table"], "--wait", wait),
        ],
        commands=(lookup_cli,),
    )


def test_publish_wait_stops_at_once_when_a_newer_upload_is_live(
    deployed, aws, monkeypatch, tmp_path, capsys
):
    """Someone publishes a newer file while ours is in flight and its load runs first: ours is
    skipped, which no amount of waiting changes, so the command ends on the first poll."""
    newer = tmp_path / "employees-newer.csv"
    newer.write_bytes(EXAMPLE.read_bytes())
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) > 1:
            return  # the command should have stopped: the assertion on sleeps says so
        s3 = aws("s3")
        ours = s3.head_object(Bucket=deployed["bucket"], Key="lookup/employees/employees.csv")
        put = s3.put_object(
            Bucket=deployed["bucket"],
            Key="lookup/employees/employees-newer.csv",
            Body=newer.read_bytes(),
        )
        assert load(aws, deployed, "lookup/employees/employees-newer.csv", put["VersionId"], 2)
        outcome = load(aws, deployed, "lookup/employees/employees.csv", ours["VersionId"], 1)
        assert outcome.status == "skipped", outcome.manifest

    monkeypatch.setattr(lookup_cli, "_sleep", sleep)
    code = publish(deployed, EXAMPLE)
    out = capsys.readouterr().out
    live = deployed["store"].pointer("employees", consistent=True)
    assert code == 1, out
    assert len(sleeps) == 1, "the command kept waiting for a load that will never come"
    assert f"load of s3://{deployed['bucket']}/lookup/employees/employees.csv SKIPPED: " in out
    assert "a newer upload (lookup/employees/employees-newer.csv" in out
    assert f"version {live['version']} is still served" in out
    assert live["manifest"]["source"]["key"] == "lookup/employees/employees-newer.csv"


def test_an_earlier_skip_of_the_same_file_name_is_not_this_load(
    deployed, aws, monkeypatch, tmp_path, capsys
):
    """A skipped manifest recorded before this upload is another upload's: the command waits for
    its own load (here a success) instead of reporting the old skip."""
    s3, key = aws("s3"), "lookup/employees/employees.csv"
    old = s3.put_object(Bucket=deployed["bucket"], Key=key, Body=EXAMPLE.read_bytes())
    newer = s3.put_object(
        Bucket=deployed["bucket"], Key="lookup/employees/later.csv", Body=EXAMPLE.read_bytes()
    )
    assert load(aws, deployed, "lookup/employees/later.csv", newer["VersionId"], 2).status == (
        "succeeded"
    )
    assert load(aws, deployed, key, old["VersionId"], 1).status == "skipped"

    def sleep(_seconds: float) -> None:
        head = s3.head_object(Bucket=deployed["bucket"], Key=key)
        load(aws, deployed, key, head["VersionId"], 3)

    monkeypatch.setattr(lookup_cli, "_sleep", sleep)
    code = publish(deployed, EXAMPLE)
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"loaded s3://{deployed['bucket']}/{key} as employees version " in out
