"""Rows larger than the reader's block are read, up to Tuning.max_row_bytes; above it the file
is quarantined as row_too_large."""

from __future__ import annotations

import io
import json

import pyarrow.parquet as pq
import pytest

from headwater.contracts.rules import ContractViolation
from headwater.ingest.convert import ROW_TOO_LARGE, Tuning, convert_to_parquet
from tests.unit.ingest.test_ingest_convert import CONTRACTS, event_line, sales_csv, sales_rows


def csv_with_field(size: int) -> bytes:
    rows = sales_rows(3)
    rows[1] = rows[1].rstrip("\n").rsplit(",", 1)[0] + "," + "x" * size + "\n"
    return sales_csv(rows)


def ndjson_with_field(size: int) -> bytes:
    lines = [event_line(1), event_line(2, event_type="y" * size), event_line(3)]
    return "".join(lines).encode()


def test_a_five_mib_field_is_read_with_the_default_tuning(tmp_path):
    out = tmp_path / "o.parquet"
    result = convert_to_parquet(
        lambda: io.BytesIO(csv_with_field(5 << 20)), CONTRACTS["sales"], out
    )
    assert result.rows == 3
    assert len(pq.read_table(out).column("coupon")[1].as_py()) == 5 << 20


@pytest.mark.parametrize(
    ("dataset", "make", "column"),
    [("sales", csv_with_field, "coupon"), ("events", ndjson_with_field, "event_type")],
)
def test_rows_larger_than_the_block_are_read_up_to_the_maximum(tmp_path, dataset, make, column):
    tuning = Tuning(block_size=64 << 10, max_row_bytes=1 << 20)
    out = tmp_path / "o.parquet"
    convert_to_parquet(lambda: io.BytesIO(make(600 << 10)), CONTRACTS[dataset], out, tuning)
    assert len(pq.read_table(out).column(column)[1].as_py()) == 600 << 10


@pytest.mark.parametrize(
    ("dataset", "make"), [("sales", csv_with_field), ("events", ndjson_with_field)]
)
def test_a_row_above_the_maximum_is_row_too_large(tmp_path, dataset, make):
    # Rows up to the maximum are always read; a longer one may still fit Arrow's blocks, so the
    # test uses one far above it.
    tuning = Tuning(block_size=16 << 10, max_row_bytes=64 << 10)
    out = tmp_path / "o.parquet"
    with pytest.raises(ContractViolation) as info:
        convert_to_parquet(lambda: io.BytesIO(make(1 << 20)), CONTRACTS[dataset], out, tuning)
    assert info.value.rule == ROW_TOO_LARGE
    assert "maximum row size of 65536 bytes" in info.value.message
    assert not out.exists()


def test_a_type_error_after_a_large_row_is_still_located(tmp_path):
    rows = csv_with_field(300 << 10).decode().splitlines(keepends=True)
    rows.append(rows[-1].replace(",4,0.30,", ",four,0.30,").replace("3,", "4,", 1))
    tuning = Tuning(block_size=64 << 10)
    with pytest.raises(ContractViolation) as info:
        convert_to_parquet(
            lambda: io.BytesIO("".join(rows).encode()), CONTRACTS["sales"], tmp_path / "o", tuning
        )
    report = info.value.report()
    assert (report["rule"], report["row"], report["column"]) == ("type_mismatch", 4, "quantity")


def test_a_json_array_element_up_to_the_maximum_row_size_is_read(tmp_path):
    from tests.unit.ingest.test_ingest_convert import track

    element = track(1, name="n" * (20 << 20))  # above the reader's former 16 MiB bound
    data = json.dumps([track(0), element]).encode()
    out = tmp_path / "o.parquet"
    result = convert_to_parquet(lambda: io.BytesIO(data), CONTRACTS["tracks"], out)
    assert result.rows == 2
