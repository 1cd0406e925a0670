"""Streaming conversion: every kind of bad input, round trips, explicit types, bounded memory."""

from __future__ import annotations

import datetime as dt
import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from headwater.contracts.rules import ContractViolation
from headwater.ingest import convert as convert_module
from headwater.ingest import keys
from headwater.ingest.contracts import load_contracts
from headwater.ingest.convert import Tuning, convert_to_parquet

CONTRACTS = {c.dataset: c for c in load_contracts()}
SALES_HEADER = "order_id,order_date,customer_id,sku,quantity,unit_price,currency,coupon\n"


def sales_rows(count: int, start: int = 1) -> list[str]:
    return [
        f"{i},2026-11-{1 + i % 28:02d},C{i % 977:05d},SKU-{i % 50:03d},{1 + i % 9},"
        f"{(i % 1000) / 10:.2f},EUR,{'SPRING' if i % 3 == 0 else ''}\n"
        for i in range(start, start + count)
    ]


def sales_csv(rows: list[str]) -> bytes:
    return (SALES_HEADER + "".join(rows)).encode()


def event_line(i: int, **override) -> str:
    record = {
        "event_id": f"e{i}",
        "occurred_at": "2026-11-23T10:00:00Z",
        "user_id": f"u{i % 7}",
        "event_type": "click",
        "value": i / 2,
    }
    record.update(override)
    record = {k: v for k, v in record.items() if v is not _ABSENT}
    return json.dumps(record) + "\n"


def track(i: int, **override) -> dict:
    record = {
        "track_id": f"t{i}",
        "name": f"Song {i} ünïcode 日本",
        "artists": "A; B",
        "album": "Album",
        "release_date": None,
        "duration_ms": 200_000 + i,
        "popularity": i % 100,
        "explicit": i % 2 == 0,
    }
    record.update(override)
    return {k: v for k, v in record.items() if v is not _ABSENT}


_ABSENT = object()


def convert(dataset: str, data: bytes, tmp_path, tuning: Tuning | None = None):
    out = tmp_path / "out.parquet"
    result = convert_to_parquet(lambda: io.BytesIO(data), CONTRACTS[dataset], out, tuning)
    return result, out


def violation(dataset: str, data: bytes, tmp_path) -> ContractViolation:
    out = tmp_path / "out.parquet"
    with pytest.raises(ContractViolation) as info:
        convert_to_parquet(lambda: io.BytesIO(data), CONTRACTS[dataset], out)
    assert not out.exists(), "no partial output may survive a violation"
    return info.value


# --- good input ---------------------------------------------------------------------------


def test_csv_rows_round_trip_with_explicit_types(tmp_path):
    rows = sales_rows(500)
    result, out = convert("sales", sales_csv(rows), tmp_path)
    table = pq.read_table(out)
    assert result.rows == table.num_rows == 500
    assert table.schema == CONTRACTS["sales"].arrow_schema()
    first = table.slice(0, 1).to_pylist()[0]
    assert first == {
        "order_id": 1,
        "order_date": dt.date(2026, 11, 2),
        "customer_id": "C00001",
        "sku": "SKU-001",
        "quantity": 2,
        "unit_price": 0.1,
        "currency": "EUR",
        "coupon": None,
    }
    expected_ids = [int(r.split(",")[0]) for r in rows]
    assert table.column("order_id").to_pylist() == expected_ids
    assert table.column("coupon").null_count == sum(1 for r in rows if r.endswith(",\n"))


def test_csv_columns_in_any_order_and_optional_column_absent(tmp_path):
    data = b"sku,order_id,currency,order_date,customer_id,quantity,unit_price\n"
    data += b"S1,7,EUR,2026-01-02,C1,3,1.5\n"
    _, out = convert("sales", data, tmp_path)
    assert pq.read_table(out).to_pylist() == [
        {
            "order_id": 7,
            "order_date": dt.date(2026, 1, 2),
            "customer_id": "C1",
            "sku": "S1",
            "quantity": 3,
            "unit_price": 1.5,
            "currency": "EUR",
            "coupon": None,
        }
    ]


def test_csv_quoted_fields_with_newlines_and_bom(tmp_path):
    data = "\ufeff".encode() + sales_csv(['1,2026-01-01,"C, ""one""\nline two",S,1,2.0,EUR,\n'])
    _, out = convert("sales", data, tmp_path)
    assert pq.read_table(out).column("customer_id").to_pylist() == ['C, "one"\nline two']


def test_ndjson_round_trip(tmp_path):
    lines = [event_line(i) for i in range(1, 301)]
    lines[5] = event_line(6, value=None)
    lines[6] = event_line(7, value=_ABSENT)
    _, out = convert("events", "".join(lines).encode(), tmp_path)
    table = pq.read_table(out)
    assert table.schema == CONTRACTS["events"].arrow_schema()
    assert table.column("event_id").to_pylist() == [f"e{i}" for i in range(1, 301)]
    assert table.column("value").to_pylist()[4:8] == [2.5, None, None, 4.0]
    assert table.column("occurred_at")[0].as_py() == dt.datetime(2026, 11, 23, 10, tzinfo=dt.UTC)


def test_json_array_round_trip_with_small_parser_chunks(tmp_path, monkeypatch):
    records = [track(i) for i in range(1, 2501)]
    data = json.dumps(records, indent=1, ensure_ascii=False).encode()
    result, out = convert("tracks", data, tmp_path, Tuning(json_rows_per_batch=1000))
    assert result.batches == 3
    assert pq.read_table(out).to_pylist() == records


# --- bad input ----------------------------------------------------------------------------

GOOD = sales_rows(3)


@pytest.mark.parametrize(
    ("name", "data", "rule", "row", "column"),
    [
        ("zero bytes", b"", "empty_file", None, None),
        ("header only", SALES_HEADER.encode(), "empty_file", None, None),
        ("blank", b"\n\n", "empty_file", None, None),
        (
            "latin-1",
            sales_csv(GOOD) + "4,2026-01-01,Mü,S,1,1.0,EUR,\n".encode("latin-1"),
            "encoding",
            4,
            None,
        ),
        (
            "too few fields",
            sales_csv([*GOOD, "4,2026-01-01,C,S,1,1.0,EUR\n"]),
            "malformed",
            4,
            None,
        ),
        ("too many", sales_csv([GOOD[0], "2,2026-01-01,C,S,1,1.0,EUR,,x\n"]), "malformed", 2, None),
        (
            "int",
            sales_csv([*GOOD, "4,2026-01-01,C,S,two,1.0,EUR,\n"]),
            "type_mismatch",
            4,
            "quantity",
        ),
        (
            "date",
            sales_csv([*GOOD, "4,23/11/2026,C,S,2,1.0,EUR,\n"]),
            "type_mismatch",
            4,
            "order_date",
        ),
        (
            "float",
            sales_csv([*GOOD, "4,2026-01-01,C,S,2,cheap,EUR,\n"]),
            "type_mismatch",
            4,
            "unit_price",
        ),
        (
            "null",
            sales_csv([*GOOD, "4,2026-01-01,,S,2,1.0,EUR,\n"]),
            "null_value",
            4,
            "customer_id",
        ),
        (
            "dup",
            sales_csv([*GOOD, "2,2026-01-01,C,S,2,1.0,EUR,\n"]),
            "duplicate_key",
            4,
            "order_id",
        ),
        (
            "missing",
            SALES_HEADER.replace(",currency", "").encode() + b"1,2026-01-01,C,S,1,1.0,\n",
            "missing_column",
            None,
            "currency",
        ),
        (
            "unexpected",
            SALES_HEADER.replace("coupon", "coupon,note").encode()
            + b"1,2026-01-01,C,S,1,1.0,EUR,,hi\n",
            "unexpected_column",
            None,
            "note",
        ),
        (
            "repeated header",
            SALES_HEADER.replace("coupon", "sku").encode(),
            "malformed",
            None,
            "sku",
        ),
    ],
)
def test_bad_csv(tmp_path, name, data, rule, row, column):
    found = violation("sales", data, tmp_path)
    assert found.rule == rule, found
    assert (found.row, found.column) == (row, column), found


def test_invalid_utf8_deep_in_a_large_file_reports_its_row(tmp_path):
    rows = sales_rows(20_000)
    rows[15_000] = rows[15_000].replace("EUR", "\xe9UR")
    data = (SALES_HEADER + "".join(rows)).encode("latin-1")
    found = violation("sales", data, tmp_path)
    assert (found.rule, found.row) == ("encoding", 15_001)


def test_type_error_in_a_later_block_is_located_by_the_diagnostic_pass(tmp_path):
    rows = sales_rows(20_000)
    rows[17_499] = rows[17_499].replace(",EUR,", ",EUR,").replace("2026-11-", "2026-13-")
    out = tmp_path / "o.parquet"
    with pytest.raises(ContractViolation) as info:
        convert_to_parquet(
            lambda: io.BytesIO(sales_csv(rows)),
            CONTRACTS["sales"],
            out,
            Tuning(block_size=64 << 10),
        )
    assert (info.value.rule, info.value.row, info.value.column) == (
        "type_mismatch",
        17_500,
        "order_date",
    )


@pytest.mark.parametrize(
    ("name", "lines", "rule", "row", "column"),
    [
        ("blank", ["\n", "\n"], "empty_file", None, None),
        ("not json", [event_line(1), "{oops\n"], "malformed", 2, None),
        ("not object", [event_line(1), "[1, 2]\n"], "malformed", 2, None),
        ("type", [event_line(1), event_line(2, value="high")], "type_mismatch", 2, "value"),
        (
            "ts",
            [event_line(1), event_line(2, occurred_at="soon")],
            "type_mismatch",
            2,
            "occurred_at",
        ),
        ("null", [event_line(1), event_line(2, user_id=None)], "null_value", 2, "user_id"),
        (
            "missing",
            [event_line(1), event_line(2, user_id=_ABSENT)],
            "missing_column",
            2,
            "user_id",
        ),
        ("unexpected", [event_line(1), event_line(2, extra=1)], "unexpected_column", 2, "extra"),
        ("dup", [event_line(1), event_line(2), event_line(1)], "duplicate_key", 3, "event_id"),
    ],
)
def test_bad_ndjson(tmp_path, name, lines, rule, row, column):
    found = violation("events", "".join(lines).encode(), tmp_path)
    assert (found.rule, found.row, found.column) == (rule, row, column), found


@pytest.mark.parametrize(
    ("name", "data", "rule", "row", "column"),
    [
        ("whitespace", b"  \n ", "empty_file", None, None),
        ("empty array", b"[ ]", "empty_file", None, None),
        ("object at top", json.dumps(track(1)).encode(), "malformed", None, None),
        ("truncated", json.dumps([track(1), track(2)]).encode()[:-30], "malformed", 2, None),
        ("trailing comma", (json.dumps([track(1)])[:-1] + ",]").encode(), "malformed", 2, None),
        ("trailing data", json.dumps([track(1)]).encode() + b" []", "malformed", None, None),
        ("scalar element", json.dumps([track(1), 5]).encode(), "malformed", 2, None),
        (
            "bool as int",
            json.dumps([track(1), track(2, duration_ms=True)]).encode(),
            "type_mismatch",
            2,
            "duration_ms",
        ),
        (
            "int as bool",
            json.dumps([track(1, explicit=1)]).encode(),
            "type_mismatch",
            1,
            "explicit",
        ),
        ("null", json.dumps([track(1, name=None)]).encode(), "null_value", 1, "name"),
        ("missing", json.dumps([track(1, album=_ABSENT)]).encode(), "missing_column", 1, "album"),
        ("unexpected", json.dumps([track(1, genre="x")]).encode(), "unexpected_column", 1, "genre"),
        (
            "dup",
            json.dumps([track(1), track(2), track(1)]).encode(),
            "duplicate_key",
            3,
            "track_id",
        ),
        ("latin-1", '[{"track_id": "Ä"}]'.encode("latin-1"), "encoding", 1, None),
    ],
)
def test_bad_json_array(tmp_path, name, data, rule, row, column):
    found = violation("tracks", data, tmp_path)
    assert (found.rule, found.row, found.column) == (rule, row, column), found


def test_fingerprint_collisions_are_not_reported_as_duplicates(tmp_path, monkeypatch):
    """Hash collisions between distinct keys are confirmed against the real keys, not trusted."""

    def colliding(batch, key_columns):
        return pa.array([42] * batch.num_rows, pa.uint64())

    monkeypatch.setattr(keys, "fingerprints", colliding)
    monkeypatch.setattr(convert_module, "fingerprints", colliding)
    result, _ = convert("tracks", json.dumps([track(i) for i in range(50)]).encode(), tmp_path)
    assert result.rows == 50
    found = violation("tracks", json.dumps([track(1), track(2), track(1)]).encode(), tmp_path)
    assert (found.rule, found.row) == ("duplicate_key", 3)


# --- bounded memory -------------------------------------------------------------------------


class TrickleBody:
    """A non-seekable network-like body: short reads, no seek, counts what was read at once."""

    def __init__(self, data: bytes, max_read: int) -> None:
        self._data = io.BytesIO(data)
        self._max = max_read
        self.largest_read = 0

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            raise AssertionError("the converter must never read the whole body at once")
        chunk = self._data.read(min(size, self._max))
        self.largest_read = max(self.largest_read, len(chunk))
        return chunk


def test_multi_megabyte_file_streams_in_many_small_batches(tmp_path):
    rows = sales_rows(120_000)  # about 6 MB
    data = sales_csv(rows)
    body = TrickleBody(data, max_read=16 << 10)
    tuning = Tuning(block_size=64 << 10, row_group_rows=25_000)
    out = tmp_path / "big.parquet"
    result = convert_to_parquet(lambda: body, CONTRACTS["sales"], out, tuning)
    assert len(data) > 5 << 20
    # Each Arrow batch covers about one block: the file is never held as a whole.
    assert result.batches >= len(data) // (64 << 10)
    assert body.largest_read <= 16 << 10
    parquet = pq.ParquetFile(out)
    assert parquet.metadata.num_rows == 120_000
    assert parquet.metadata.num_row_groups == result.row_groups == 5
    assert parquet.read(columns=["order_id"]).column(0).to_pylist() == list(range(1, 120_001))
