"""Compressed uploads (.gz, .zst) are read transparently, streamed in bounded memory."""

from __future__ import annotations

import gzip
import io
import json

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from moto import mock_aws

from headwater.contracts.rules import MALFORMED, ContractViolation
from headwater.contracts.stream import Decompressed
from headwater.ingest.contracts import load_contracts, select_contract, split_compression
from headwater.ingest.convert import Tuning, convert_to_parquet
from headwater.ingest.processor import process_object
from tests.unit.ingest.test_ingest_convert import TrickleBody, event_line, sales_csv, sales_rows

CONTRACTS = {c.dataset: c for c in load_contracts()}


def zstd(data: bytes) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.CompressedOutputStream(sink, "zstd") as out:
        out.write(data)
    return sink.getvalue().to_pybytes()


@pytest.mark.parametrize(
    ("key", "dataset", "codec"),
    [
        ("sales/a.csv.gz", "sales", "gzip"),
        ("sales/a.CSV.GZ", "sales", "gzip"),
        ("events/a.ndjson.gz", "events", "gzip"),
        ("events/a.jsonl.gz", "events", "gzip"),
        ("tracks/a.json.zst", "tracks", "zstd"),
        ("sales/a.csv", "sales", None),
    ],
)
def test_compressed_keys_select_the_contract_of_the_inner_format(key, dataset, codec):
    assert select_contract(CONTRACTS.values(), key).dataset == dataset
    assert split_compression(key)[1] == codec


def test_a_compressed_file_of_another_format_is_still_unsupported():
    with pytest.raises(ContractViolation, match="optionally compressed"):
        select_contract(CONTRACTS.values(), "sales/a.ndjson.gz")


def test_multi_megabyte_gzip_streams_in_many_small_batches(tmp_path):
    data = sales_csv(sales_rows(120_000))  # about 6 MB
    compressed = gzip.compress(data, compresslevel=1)
    body = TrickleBody(compressed, max_read=1 << 20)
    tuning = Tuning(block_size=64 << 10, row_group_rows=25_000)
    out = tmp_path / "big.parquet"
    result = convert_to_parquet(lambda: Decompressed(body, "gzip"), CONTRACTS["sales"], out, tuning)
    assert len(data) > 5 << 20
    # The compressed body is read in small chunks and each batch covers about one block.
    assert body.largest_read <= 64 << 10
    assert result.batches >= len(data) // (64 << 10)
    assert result.bytes_in == len(data)
    assert pq.ParquetFile(out).metadata.num_rows == 120_000


def test_zstd_ndjson_round_trip(tmp_path):
    data = zstd("".join(event_line(i) for i in range(50)).encode())
    out = tmp_path / "e.parquet"
    convert_to_parquet(lambda: Decompressed(io.BytesIO(data), "zstd"), CONTRACTS["events"], out)
    assert pq.read_table(out).column("event_id").to_pylist() == [f"e{i}" for i in range(50)]


@pytest.mark.parametrize(
    "payload", [b"not gzip at all\n" * 100, gzip.compress(sales_csv(sales_rows(5000)))[:3000]]
)
def test_a_corrupt_or_truncated_stream_is_malformed(tmp_path, payload):
    with pytest.raises(ContractViolation) as info:
        convert_to_parquet(
            lambda: Decompressed(io.BytesIO(payload), "gzip"), CONTRACTS["sales"], tmp_path / "o"
        )
    assert info.value.rule == MALFORMED
    assert "not a valid gzip stream" in info.value.message


def test_an_error_of_the_source_itself_propagates_for_a_retry():
    class Broken:
        def read(self, size=-1):
            raise ConnectionResetError("network")

    with pytest.raises(ConnectionResetError):
        Decompressed(Broken(), "gzip").read(100)


def test_process_object_curates_a_gzip_upload_under_the_inner_name(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        for bucket in ("raw", "cur", "qua"):
            s3.create_bucket(Bucket=bucket)
        body = gzip.compress(sales_csv(sales_rows(10)))
        etag = s3.put_object(Bucket="raw", Key="ingest/sales/o.csv.gz", Body=body)["ETag"]
        outcome = process_object(
            s3=s3,
            bucket="raw",
            key="ingest/sales/o.csv.gz",
            version_id=None,
            etag=etag,
            size=len(body),
            event_time="2026-11-23T10:00:00Z",
            contracts=load_contracts(),
            curated_bucket="cur",
            quarantine_bucket="qua",
            ingest_prefix="ingest/",
        )
        assert (outcome.status, outcome.rows) == ("curated", 10), json.dumps(outcome.__dict__)
        assert outcome.output_key == f"sales/ingest_date=2026-11-23/o-{etag.strip(chr(34))}.parquet"
