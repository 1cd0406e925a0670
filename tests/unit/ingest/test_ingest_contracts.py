"""Dataset contracts: loading, validation errors that name file and field, selection by key."""

from __future__ import annotations

import pyarrow as pa
import pytest

from headwater.contracts.rules import (
    UNKNOWN_DATASET,
    UNSUPPORTED_FORMAT,
    ContractError,
    ContractViolation,
)
from headwater.ingest.contracts import load_contracts, parse_documents, select_contract

MINIMAL = """
dataset = "{dataset}"
prefix = "{prefix}"
format = "{format}"
primary_key = ["id"]

[[columns]]
name = "id"
type = "int64"
nullable = false
"""


def doc(dataset: str = "d", prefix: str = "d/", format: str = "csv") -> str:
    return MINIMAL.format(dataset=dataset, prefix=prefix, format=format)


def test_packaged_contracts_load_with_explicit_arrow_schemas():
    contracts = {c.dataset: c for c in load_contracts()}
    assert {name: c.format for name, c in contracts.items()} == {
        "sales": "csv",
        "events": "ndjson",
        "tracks": "json",
    }
    sales = contracts["sales"].arrow_schema()
    assert sales.field("order_id").type == pa.int64()
    assert sales.field("order_date").type == pa.date32()
    assert sales.field("unit_price").type == pa.float64()
    assert not sales.field("order_id").nullable and sales.field("coupon").nullable
    events = contracts["events"].arrow_schema()
    assert events.field("occurred_at").type == pa.timestamp("us", tz="UTC")
    assert contracts["tracks"].arrow_schema().field("explicit").type == pa.bool_()
    assert contracts["sales"].primary_key == ("order_id",)


def test_contracts_dir_env_overrides_the_packaged_ones(tmp_path, monkeypatch):
    (tmp_path / "only.toml").write_text(doc("only", "only/"))
    monkeypatch.setenv("CONTRACTS_DIR", str(tmp_path))
    assert [c.dataset for c in load_contracts()] == ["only"]


def test_missing_contracts_dir_is_a_clear_error(tmp_path):
    with pytest.raises(ContractError, match="does not exist"):
        load_contracts(tmp_path / "nope")


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (doc().replace('format = "csv"', 'format = "xml"'), "'format'"),
        (doc().replace('format = "csv"\n', ""), "'format'"),
        (doc().replace('type = "int64"', 'type = "decimal"'), "'columns[0].type'"),
        (doc().replace('primary_key = ["id"]', 'primary_key = ["nope"]'), "'primary_key'"),
        (doc().replace("nullable = false", "nullable = true"), "'primary_key'"),
        (doc().replace('prefix = "d/"', 'prefix = "d"'), "'prefix'"),
        ("owner = 'x'\n" + doc(), "'owner'"),
        (doc() + '\n[[columns]]\nname = "id"\ntype = "string"\n', "'columns[1].name'"),
    ],
)
def test_invalid_contract_error_names_file_and_field(text, field):
    with pytest.raises(ContractError) as info:
        parse_documents([("broken.toml", text)])
    assert "broken.toml" in str(info.value)
    assert field in str(info.value)


def test_invalid_toml_names_the_file():
    with pytest.raises(ContractError, match=r"bad\.toml: invalid TOML"):
        parse_documents([("bad.toml", "dataset = ")])


def test_duplicate_prefix_across_files_is_rejected():
    with pytest.raises(ContractError, match=r"b\.toml.*'prefix'.*a\.toml"):
        parse_documents([("a.toml", doc("a", "x/")), ("b.toml", doc("b", "x/"))])


def test_longest_prefix_wins():
    contracts = parse_documents(
        [("a.toml", doc("all", "sales/")), ("b.toml", doc("eu", "sales/eu/"))]
    )
    assert select_contract(contracts, "sales/eu/2026/x.csv").dataset == "eu"
    assert select_contract(contracts, "sales/us/2026/x.csv").dataset == "all"


@pytest.mark.parametrize(
    ("key", "dataset"),
    [
        ("sales/2026-11-23/orders 001.csv", "sales"),
        ("sales/2026-11-23/ORDERS.CSV", "sales"),
        ("events/x.ndjson", "events"),
        ("events/x.jsonl", "events"),
        ("tracks/été/x.json", "tracks"),
    ],
)
def test_extension_fits_format(key, dataset):
    assert select_contract(load_contracts(), key).dataset == dataset


@pytest.mark.parametrize(
    ("key", "rule"),
    [
        ("unknown/x.csv", UNKNOWN_DATASET),
        ("x.csv", UNKNOWN_DATASET),
        ("sales/x.json", UNSUPPORTED_FORMAT),
        ("sales/x.csv.bz2", UNSUPPORTED_FORMAT),  # gz and zst are read; other codecs are not
        ("events/x.csv", UNSUPPORTED_FORMAT),
        ("tracks/x", UNSUPPORTED_FORMAT),
    ],
)
def test_selection_failures_are_contract_violations(key, rule):
    with pytest.raises(ContractViolation) as info:
        select_contract(load_contracts(), key)
    assert info.value.rule == rule


def test_isolated_loading_sets_a_broken_declaration_aside(tmp_path):
    from headwater.contracts.rules import ContractViolation
    from headwater.ingest.contracts import INVALID_DECLARATION, load_contracts_isolated

    columns = '[[columns]]\nname = "a"\ntype = "string"\n'
    (tmp_path / "a.toml").write_text(f'dataset = "a"\nprefix = "a/"\nformat = "csv"\n{columns}')
    (tmp_path / "b.toml").write_text('dataset = "b"\nprefix = "a/b/"\nformat = "xls"\n')
    (tmp_path / "c.toml").write_text("dataset = ")
    (tmp_path / "d.toml").write_text(f'dataset = "a"\nprefix = "d/"\nformat = "csv"\n{columns}')
    loaded = load_contracts_isolated(tmp_path)
    assert [c.dataset for c in loaded.contracts] == ["a"]
    assert [(b.source, b.prefix) for b in loaded.broken] == [
        ("b.toml", "a/b/"),
        ("c.toml", None),
        ("d.toml", "d/"),
    ]
    assert "already declared in a.toml" in loaded.broken[2].error
    assert select_contract(loaded.contracts, "a/x.csv", loaded.broken).dataset == "a"
    for key, source in [("a/b/x.csv", "b.toml"), ("d/x.csv", "d.toml"), ("z/x.csv", "c.toml")]:
        with pytest.raises(ContractViolation) as info:
            select_contract(loaded.contracts, key, loaded.broken)
        assert info.value.rule == INVALID_DECLARATION
        assert source in info.value.message
