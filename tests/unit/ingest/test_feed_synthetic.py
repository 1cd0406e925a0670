"""The synthetic source: deterministic realistic good files; bad files are bad as stated."""

from __future__ import annotations

import collections
import datetime as dt
import io
import json
import zipfile

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pytest

from headwater.feed.contracts import Contract, load_contracts
from headwater.feed.model import RULES, Expected, FeedFile
from headwater.feed.synthetic import BAD_KINDS, SyntheticSource

CONTRACTS = load_contracts()
ARROW_TYPES = {
    "string": pa.string(),
    "int64": pa.int64(),
    "float64": pa.float64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("ms", tz="UTC"),
}
DAY = dt.date(2026, 11, 23)


def schema(contract: Contract, all_strings: bool = False) -> pa.Schema:
    return pa.schema(
        [
            pa.field(c.name, pa.string() if all_strings else ARROW_TYPES[c.type], c.nullable)
            for c in contract.columns
        ]
    )


def contract_of(feed_file: FeedFile) -> Contract:
    assert feed_file.dataset is not None
    return CONTRACTS[feed_file.dataset]


def read_table(feed_file: FeedFile, all_strings: bool = False) -> pa.Table:
    """Parse a file the strict way: the contract's columns and types, nothing inferred."""
    contract = contract_of(feed_file)
    target = schema(contract, all_strings)
    body = io.BytesIO(feed_file.body)
    if contract.format == "csv":
        return pacsv.read_csv(
            body,
            convert_options=pacsv.ConvertOptions(
                column_types=target, include_columns=contract.names, strings_can_be_null=True
            ),
        )
    if contract.format == "ndjson":
        return pajson.read_json(
            body,
            parse_options=pajson.ParseOptions(
                explicit_schema=target, unexpected_field_behavior="error"
            ),
        )
    return pa.Table.from_pylist(json.loads(feed_file.body), schema=target)


def generate(**kwargs) -> list[FeedFile]:
    options = {"files": 50, "rows": 20, "bad_share": 0.2, "seed": 7, "day": DAY} | kwargs
    return list(SyntheticSource(**options).files())


@pytest.fixture(scope="module")
def files() -> list[FeedFile]:
    return generate()


def by_rule(files: list[FeedFile], rule: str) -> list[FeedFile]:
    return [f for f in files if f.expected.rule == rule]


def test_same_seed_gives_identical_files_and_another_seed_differs():
    first, second = generate(), generate()
    assert [(f.key, f.body, f.expected) for f in first] == [
        (f.key, f.body, f.expected) for f in second
    ]
    other = generate(seed=8)
    assert [f.body for f in other] != [f.body for f in first]


def test_every_bad_kind_is_present_at_the_requested_share(files):
    quarantined = [f for f in files if f.expected.outcome == "quarantined"]
    assert len(quarantined) == round(50 * 0.2)
    rules = {f.expected.rule for f in quarantined}
    expected_rules = {kind.rule for kind in BAD_KINDS}
    assert rules == expected_rules
    assert expected_rules <= RULES
    assert "unexpected_column" not in rules  # not generated (see BAD_KINDS)


@pytest.mark.parametrize("share, bad", [(0.0, 0), (0.5, 10), (1.0, 20)])
def test_share_controls_how_many_files_are_bad(share, bad):
    generated = generate(files=20, bad_share=share)
    assert len(generated) == 20
    assert sum(f.expected.outcome == "quarantined" for f in generated) == bad


def test_keys_are_unique_and_good_ones_include_spaces_and_unicode(files):
    keys = [f.key for f in files]
    assert len(set(keys)) == len(keys)
    unicode_good = [
        f for f in files if f.expected.outcome == "curated" and " " in f.key and not f.key.isascii()
    ]
    assert unicode_good, "expected good files whose keys have spaces and non-ASCII characters"
    assert {f.dataset for f in unicode_good} == {"sales", "events", "tracks"}
    assert any(f.key.startswith("sales/Kunden März/orders ") for f in unicode_good)


def test_good_files_parse_with_the_contract_schema_and_row_count(files):
    good = [f for f in files if f.expected.outcome == "curated"]
    assert {f.dataset for f in good} == {"sales", "events", "tracks"}
    for feed_file in good:
        contract = contract_of(feed_file)
        assert feed_file.key.startswith(contract.prefix)
        assert feed_file.key.endswith("." + contract.extension)
        table = read_table(feed_file)
        assert table.column_names == contract.names
        assert table.num_rows == feed_file.expected.rows == 20
        for column in contract.required():
            assert table[column.name].null_count == 0, (feed_file.key, column.name)
        keys = table.select(list(contract.primary_key)).to_pylist()
        assert len({json.dumps(k) for k in keys}) == table.num_rows


def test_values_look_realistic(files):
    sales = read_table(next(f for f in files if f.dataset == "sales" and f.expected.rows))
    assert set(sales["currency"].to_pylist()) <= {"EUR", "USD", "GBP", "SEK", "CHF"}
    assert all(p > 0 for p in sales["unit_price"].to_pylist())
    assert all(sku.count("-") == 2 for sku in sales["sku"].to_pylist())
    assert all(DAY - dt.timedelta(days=7) < d <= DAY for d in sales["order_date"].to_pylist())
    events = read_table(next(f for f in files if f.dataset == "events" and f.expected.rows))
    times = events["occurred_at"].to_pylist()
    assert times == sorted(times) and times[0].date() == DAY
    tracks = read_table(next(f for f in files if f.dataset == "tracks" and f.expected.rows))
    assert all(len(t) == 22 for t in tracks["track_id"].to_pylist())
    assert all(60_000 < d < 600_000 for d in tracks["duration_ms"].to_pylist())


def test_malformed_files_break_csv_structure(files):
    bad = by_rule(files, "malformed")
    assert bad
    for feed_file in bad:
        assert feed_file.key.endswith(".csv")
        with pytest.raises(pa.ArrowInvalid, match="columns"):
            read_table(feed_file, all_strings=True)


def test_type_mismatch_files_parse_as_text_but_not_as_the_contract_types(files):
    bad = by_rule(files, "type_mismatch")
    assert bad
    for feed_file in bad:
        if contract_of(feed_file).format == "csv":
            assert read_table(feed_file, all_strings=True).num_rows >= 3
        else:
            [json.loads(line) for line in feed_file.body.splitlines()]
        with pytest.raises((pa.ArrowInvalid, pa.ArrowTypeError)):
            read_table(feed_file)


def test_missing_column_files_lack_a_required_column(files):
    bad = by_rule(files, "missing_column")
    assert bad
    for feed_file in bad:
        contract = contract_of(feed_file)
        header = feed_file.body.decode().splitlines()[0].split(",")
        missing = set(contract.names) - set(header)
        assert len(missing) == 1
        assert missing <= {c.name for c in contract.required()}


def test_empty_encoding_format_and_prefix_files(files):
    assert all(f.body == b"" for f in by_rule(files, "empty_file"))
    for feed_file in by_rule(files, "encoding"):
        with pytest.raises(UnicodeDecodeError):
            feed_file.body.decode("utf-8")
        assert not feed_file.body.decode("latin-1").isascii()
    for feed_file in by_rule(files, "unsupported_format"):
        assert feed_file.key.startswith("sales/") and feed_file.key.endswith(".xlsx")
        assert zipfile.ZipFile(io.BytesIO(feed_file.body)).namelist()
    prefixes = tuple(c.prefix for c in CONTRACTS.values())
    for feed_file in by_rule(files, "unknown_dataset"):
        assert not feed_file.key.startswith(prefixes)
        assert feed_file.dataset is None and feed_file.body


def test_null_value_and_duplicate_key_files(files):
    nullish = by_rule(files, "null_value")
    assert nullish
    for feed_file in nullish:
        contract = contract_of(feed_file)
        assert contract.format in {"ndjson", "json"}  # an explicit JSON null, not an empty cell
        text = feed_file.body.decode()
        rows = (
            json.loads(text)
            if contract.format == "json"
            else list(map(json.loads, text.split("\n")[:-1]))
        )
        assert all(set(row) == set(contract.names) for row in rows)
        nulls = [
            (n, c.name)
            for n, row in enumerate(rows)
            for c in contract.required()
            if row[c.name] is None
        ]
        assert len(nulls) == 1
    duplicates = by_rule(files, "duplicate_key")
    assert duplicates
    for feed_file in duplicates:
        contract = contract_of(feed_file)
        rows = read_table(feed_file).select(list(contract.primary_key)).to_pylist()
        counts = collections.Counter(json.dumps(r) for r in rows)
        assert max(counts.values()) == 2


def test_invalid_options_and_expectations_are_rejected():
    with pytest.raises(ValueError, match="bad share"):
        SyntheticSource(bad_share=1.5)
    with pytest.raises(ValueError):
        SyntheticSource(rows=0)
    with pytest.raises(ValueError):
        Expected("quarantined", rule="not_a_rule")
    with pytest.raises(ValueError):
        Expected("curated")
    with pytest.raises(ValueError):
        FeedFile("/abs/key.csv", b"", Expected.curated(0))
