"""The sink's Lambda entrypoint against moto's S3: objects, the partial batch response, logs
and metrics. The exactly-once argument itself is tests/unit/collect/test_sink.py's."""

from __future__ import annotations

import io
import json
from typing import Any

import boto3
import pyarrow.parquet as pq
import pytest
from moto import mock_aws

from headwater import aws as hw_aws
from headwater.collect import s3_store
from headwater.handlers import collect_sink
from tests.support.collect import stream_record
from tests.support.lambda_context import LambdaContext

BUCKET = "hw-collect-changes"
BASE = 10**21  # a 22-digit sequence number, as DynamoDB's are
# Five records in three partitions, interleaved: groups in order A (1, 4), B (2, 5), C (3).
LAYOUT = [
    ("synthetic", "2026-12-01"),
    ("synthetic", "2026-12-02"),
    ("meta", "2026-12-01"),
    ("synthetic", "2026-12-01"),
    ("synthetic", "2026-12-02"),
]
EVENT = {
    "Records": [
        stream_record(BASE + i, dataset=d, day=day, operation=("INSERT", "MODIFY")[i % 2])
        for i, (d, day) in enumerate(LAYOUT, start=1)
    ]
}


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest):
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "COLLECT_CHANGES_BUCKET": BUCKET,
        "COLLECT_CHANGES_PREFIX": "changes/",
        # Per test: Powertools' logger keeps the stdout it was created with (see capsys).
        "POWERTOOLS_SERVICE_NAME": f"collect-sink-{request.node.name}",
        "POWERTOOLS_METRICS_NAMESPACE": "headwater-test",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        hw_aws.reset()
        client = boto3.client("s3")
        client.create_bucket(Bucket=BUCKET)
        yield client
    hw_aws.reset()


def _objects(s3: Any) -> dict[str, list[dict[str, Any]]]:
    out = {}
    for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        body = s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
        out[item["Key"]] = pq.read_table(io.BytesIO(body)).to_pylist()
    return out


def _lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def _metrics(lines: list[dict[str, Any]]) -> dict[str, Any]:
    (emf,) = [line for line in lines if "_aws" in line]
    return {m["Name"]: emf[m["Name"]] for m in emf["_aws"]["CloudWatchMetrics"][0]["Metrics"]}


def _sequence(n: int) -> str:
    return str(BASE + n).zfill(40)


def test_a_batch_lands_as_one_parquet_object_per_partition(s3, capsys):
    response = collect_sink.handler(EVENT, LambdaContext())
    assert response == {"batchItemFailures": []}
    objects = _objects(s3)
    assert sorted(objects) == [
        f"changes/dataset=meta/day=2026-12-01/20261201T000000000-{_sequence(3)}.parquet",
        f"changes/dataset=synthetic/day=2026-12-01/20261201T000000000-{_sequence(1)}.parquet",
        f"changes/dataset=synthetic/day=2026-12-02/20261201T000000000-{_sequence(2)}.parquet",
    ]
    rows = [r for key in sorted(objects) for r in objects[key]]
    assert sorted(r["sequence_number"] for r in rows) == [_sequence(n) for n in range(1, 6)]
    assert {r["operation"] for r in rows} == {"INSERT", "MODIFY"}
    head = s3.head_object(Bucket=BUCKET, Key=sorted(objects)[0])
    assert head["ContentType"] == "application/vnd.apache.parquet"
    lines = _lines(capsys.readouterr().out)
    assert _metrics(lines) == {
        "ChangeRecords": [5.0],
        "ObjectsWritten": [3.0],
        "BatchItemFailures": [0.0],
    }


REAL_STORE = s3_store.S3Store


class FailingStore(REAL_STORE):
    """The real S3 store whose puts numbered in ``fail_puts`` fail (an S3 outage)."""

    fail_puts = frozenset({2})

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.puts = 0

    def put(self, key: str, body: bytes) -> None:
        self.puts += 1
        if self.puts in self.fail_puts:
            raise OSError("injected: S3 unavailable")
        super().put(key, body)


def test_a_failed_put_is_a_partial_batch_failure_and_the_retry_completes(
    s3, capsys, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(s3_store, "S3Store", FailingStore)
    # One write at a time, so "the second put" is B's group (first record 2).
    monkeypatch.setattr(collect_sink, "MAX_WORKERS", 1)
    response = collect_sink.handler(EVENT, LambdaContext())
    assert response == {"batchItemFailures": [{"itemIdentifier": str(BASE + 2)}]}
    # Only records before the failure are kept: A's object trimmed to record 1.
    objects = _objects(s3)
    assert {k: [r["sequence_number"] for r in v] for k, v in objects.items()} == {
        f"changes/dataset=synthetic/day=2026-12-01/20261201T000000000-{_sequence(1)}.parquet": [
            _sequence(1)
        ]
    }
    lines = _lines(capsys.readouterr().out)
    assert _metrics(lines)["BatchItemFailures"] == [1.0]
    (warning,) = [line for line in lines if line.get("level") == "WARNING"]
    assert warning["failed_at"] == str(BASE + 2) and "S3 unavailable" in warning["errors"][0]
    assert "12.34" not in json.dumps(lines)  # no image value in any log line

    # Lambda retries from the reported record: every record once in S3.
    monkeypatch.setattr(s3_store, "S3Store", REAL_STORE)
    retry = {"Records": EVENT["Records"][1:]}
    assert collect_sink.handler(retry, LambdaContext()) == {"batchItemFailures": []}
    rows = [r["sequence_number"] for v in _objects(s3).values() for r in v]
    assert sorted(rows) == [_sequence(n) for n in range(1, 6)]


def test_a_missing_bucket_fails_the_batch_from_its_first_record(s3, monkeypatch):
    monkeypatch.setenv("COLLECT_CHANGES_BUCKET", "hw-no-such-bucket")
    response = collect_sink.handler(EVENT, LambdaContext())
    assert response == {"batchItemFailures": [{"itemIdentifier": str(BASE + 1)}]}
    assert _objects(s3) == {}


def test_a_failed_trim_raises_so_the_whole_batch_is_retried(s3, capsys, monkeypatch):
    class TrimFails(FailingStore):
        # B's put fails, then the trim's rewrite of A (to its records before B's) fails too.
        fail_puts = frozenset({2, 3})

    monkeypatch.setattr(s3_store, "S3Store", TrimFails)
    monkeypatch.setattr(collect_sink, "MAX_WORKERS", 1)
    from headwater.collect.sink import TrimError

    with pytest.raises(TrimError):
        collect_sink.handler(EVENT, LambdaContext())
    (error,) = [line for line in _lines(capsys.readouterr().out) if line.get("level") == "ERROR"]
    assert error["error_type"] == "TrimError" and error["records"] == 5
