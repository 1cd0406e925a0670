"""Parquet parts split by size through the S3 store (moto's in-process S3)."""

from __future__ import annotations

import io
import os

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from moto import mock_aws

from headwater.onboard import s3_store
from headwater.onboard.parts import PartWriter, part_key
from headwater.onboard.s3_store import S3Store

BUCKET = "landing"
PREFIX = "demo/public.events/run=20260102T030405Z/"


@pytest.fixture
def store():
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield S3Store(client, BUCKET)


def batches(count: int, rows: int) -> list[pa.RecordBatch]:
    out = []
    for i in range(count):
        ids = pa.array(range(i * rows, (i + 1) * rows), pa.int64())
        text = pa.array([f"row {n} " + "x" * (n % 50) for n in range(i * rows, (i + 1) * rows)])
        out.append(pa.RecordBatch.from_arrays([ids, text], names=["id", "text"]))
    return out


def test_parts_split_by_size_and_hold_every_row_once(store, tmp_path) -> None:
    data = batches(20, 5_000)
    writer = PartWriter(store, PREFIX, target_bytes=200_000, first_part=10000, temp_dir=tmp_path)
    for batch in data:
        writer.write(batch)
    parts = writer.finish()
    assert len(parts) > 2
    assert [p.key for p in parts] == [part_key(PREFIX, 10000 + i) for i in range(len(parts))]
    assert parts[0].key == PREFIX + "part-10000.parquet"
    assert store.list(PREFIX) == [p.key for p in parts]
    read = []
    for part in parts:
        body = store.get_bytes(part.key)
        assert len(body) == part.bytes
        table = pq.read_table(io.BytesIO(body))
        assert table.num_rows == part.rows
        read.append(table)
    assert all(p.bytes >= 200_000 for p in parts[:-1])  # closed once they reach the target
    assert pa.concat_tables(read).equals(pa.Table.from_batches(data))
    assert sum(p.rows for p in parts) == writer.rows == 100_000
    assert os.listdir(tmp_path) == []  # temporary files are gone once uploaded
    head = store.client.head_object(Bucket=BUCKET, Key=parts[0].key)
    assert head["ContentType"] == "application/vnd.apache.parquet"


def test_no_rows_no_part(store, tmp_path) -> None:
    writer = PartWriter(store, PREFIX, target_bytes=1000, temp_dir=tmp_path)
    writer.write(batches(1, 0)[0])
    assert writer.finish() == []
    assert store.list(PREFIX) == []


def test_abort_uploads_nothing_and_leaves_no_file(store, tmp_path) -> None:
    with pytest.raises(RuntimeError), PartWriter(store, PREFIX, 10**9, temp_dir=tmp_path) as w:
        w.write(batches(1, 100)[0])
        raise RuntimeError("worker failed mid-part")
    assert store.list(PREFIX) == []
    assert os.listdir(tmp_path) == []


def test_store_bytes_list_and_delete(store, monkeypatch) -> None:
    monkeypatch.setattr(s3_store, "LIST_PAGE", 2)
    monkeypatch.setattr(s3_store, "DELETE_BATCH", 2)
    keys = [f"{PREFIX}k{i:04d}" for i in range(7)]
    for key in keys[:3]:
        store.put_bytes(key, b"{}", "application/json")
    assert store.get_bytes(keys[0]) == b"{}"
    for key in keys[3:]:
        store.client.put_object(Bucket=BUCKET, Key=key, Body=b"")
    assert store.list(PREFIX) == keys  # more than one page of the listing
    store.delete(keys)  # more than one DeleteObjects call
    assert store.list(PREFIX) == []
    with pytest.raises(ValueError, match="bucket"):
        S3Store(store.client, "")
