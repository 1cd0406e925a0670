"""`headwater feed`: exit codes, one-line errors, S3 and dry-run targets."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

import headwater.cli
from headwater import aws
from headwater.cli import feed

BUCKET = "raw-cli"


@pytest.fixture
def main(monkeypatch):
    # Only the feed's subcommands: the test must not depend on other capabilities' modules.
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE", "HEADWATER_RAW_BUCKET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    aws.reset()
    yield lambda argv: headwater.cli.main(argv, commands=(feed,))
    aws.reset()


@pytest.fixture
def bucket():
    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
        yield BUCKET


def error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_feed_to_s3_writes_objects_and_manifest(main, bucket, tmp_path, capsys):
    manifest = tmp_path / "manifest.json"
    code = main(
        [
            "feed",
            "--bucket",
            bucket,
            "--files",
            "10",
            "--rows",
            "4",
            "--seed",
            "5",
            "--date",
            "2026-11-23",
            "--manifest",
            str(manifest),
        ]
    )
    assert code == 0
    out = capsys.readouterr()
    assert f"fed 10 files to s3://{bucket}/ingest/" in out.out
    assert "10/10" in out.err  # the progress bar went to stderr
    document = json.loads(manifest.read_text(encoding="utf-8"))
    keys = {o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=bucket)["Contents"]}
    assert {f["key"] for f in document["files"]} == keys
    assert all(k.startswith("ingest/") for k in keys)
    assert document["seed"] == 5 and document["totals"]["files"] == 10


def test_bucket_from_environment_and_custom_prefix(main, bucket, monkeypatch, capsys):
    monkeypatch.setenv("HEADWATER_RAW_BUCKET", bucket)
    assert main(["feed", "--files", "3", "--prefix", "drop/zone/", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=bucket)["Contents"]]
    assert len(keys) == 3 and all(k.startswith("drop/zone/") for k in keys)


def test_missing_bucket_name_is_a_one_line_error(main, capsys):
    assert main(["feed", "--files", "2"]) == 1
    assert error_line(capsys) == (
        "headwater: error: no raw bucket: pass --bucket NAME or set HEADWATER_RAW_BUCKET"
    )


def test_nonexistent_bucket_is_a_one_line_error(main, bucket, capsys):
    assert main(["feed", "--bucket", "not-there", "--files", "2", "--quiet"]) == 1
    assert "bucket 'not-there' does not exist" in error_line(capsys)


def test_invalid_bad_share_is_a_one_line_error(main, capsys):
    assert main(["feed", "--dry-run", "--bad-share", "1.5"]) == 1
    assert "bad share must be between 0 and 1" in error_line(capsys)


def test_spotify_without_credentials_is_a_one_line_error(main, monkeypatch, capsys):
    monkeypatch.delenv("SPOTIFY_CLIENT_ID", raising=False)
    monkeypatch.delenv("SPOTIFY_CLIENT_SECRET", raising=False)
    assert main(["feed", "--source", "spotify", "--playlist", "x", "--dry-run"]) == 1
    assert "SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET" in error_line(capsys)


def test_usage_errors_exit_2(main, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["feed", "--files", "0"])
    assert exc.value.code == 2
    assert "must be a whole number >= 1" in capsys.readouterr().err


def test_dry_run_writes_files_and_manifest_locally(main, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(
        [
            "feed",
            "--dry-run",
            "--out",
            str(out),
            "--files",
            "12",
            "--seed",
            "1",
            "--date",
            "2026-11-23",
        ]
    )
    assert code == 0
    document = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert len(document["files"]) == 12
    for entry in document["files"]:
        assert (out / entry["key"]).stat().st_size == entry["size"]
    assert sum(e["outcome"] == "quarantined" for e in document["files"]) == round(12 * 0.2)
    assert "manifest: " in capsys.readouterr().out


def test_dry_run_is_deterministic_for_a_seed(main, tmp_path):
    args = ["feed", "--dry-run", "--files", "9", "--seed", "4", "--date", "2026-11-23", "--quiet"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    assert main([*args, "--out", str(tmp_path / "b")]) == 0
    first = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.*"))
    second = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*.*"))
    assert first == second
    for rel in first:
        if rel.name != "manifest.json":  # the manifest carries upload times
            assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()
