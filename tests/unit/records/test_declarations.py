"""Record dataset declarations: the packaged demo loads; every mistake names its file and field."""

from __future__ import annotations

import pytest

from headwater.contracts.rules import ContractError
from headwater.records.declarations import (
    MAX_RECORD_BYTES,
    load_record_datasets,
    parse_record_documents,
)

VALID = """
dataset = "notes"
description = "Notes"
shards = 2
max_record_bytes = 1000
[[fields]]
name = "text"
type = "string"
required = true
max_length = 20
pattern = "^[a-z ]+$"
[[fields]]
name = "score"
type = "float64"
minimum = 0
maximum = 1.5
"""


def test_packaged_orders_dataset():
    orders = load_record_datasets()["orders"]
    assert orders.source == "orders.toml" and orders.shards == 4
    assert orders.max_record_bytes == 4096
    assert orders.names[:2] == ["order_id", "customer_id"]
    assert orders.field("currency").limits == {"enum": ["EUR", "GBP", "USD"]}
    assert orders.field("quantity").required is False


def test_directory_from_argument_and_environment(tmp_path, monkeypatch):
    (tmp_path / "notes.toml").write_text(VALID)
    (tmp_path / "ignored.txt").write_text("not toml")
    assert list(load_record_datasets(tmp_path)) == ["notes"]
    monkeypatch.setenv("RECORDS_DIR", str(tmp_path))
    notes = load_record_datasets()["notes"]
    assert notes.shards == 2 and notes.field("score").limits == {"minimum": 0, "maximum": 1.5}
    with pytest.raises(ContractError, match="does not exist"):
        load_record_datasets(tmp_path / "missing")


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        (('dataset = "notes"', 'dataset = "Notes!"'), "'dataset'"),
        (('dataset = "notes"', 'dataset = "notes"\ncolour = 1'), "'colour'"),
        (("shards = 2", "shards = 0"), "'shards'"),
        (("shards = 2", "shards = 101"), "'shards'"),
        (
            ("max_record_bytes = 1000", f"max_record_bytes = {MAX_RECORD_BYTES + 1}"),
            "'max_record_bytes'",
        ),
        (("max_record_bytes = 1000", "max_record_bytes = true"), "'max_record_bytes'"),
        (('name = "text"', 'name = "Text"'), "'fields[0].name'"),
        (('type = "string"', 'type = "varchar"'), "'fields[0].type'"),
        (("required = true", 'required = "yes"'), "'fields[0].required'"),
        (("max_length = 20", "max_length = -1"), "'fields[0].max_length'"),
        (('pattern = "^[a-z ]+$"', 'pattern = "(["'), "'fields[0].pattern'"),
        (("minimum = 0", "min_length = 0"), "'fields[1].min_length'"),
        (("maximum = 1.5", 'maximum = "big"'), "'fields[1].maximum'"),
        (("minimum = 0", "minimum = 2"), "'fields[1].minimum'"),
        (('name = "score"', 'name = "text"'), "'fields[1].name'"),
        (('description = "Notes"', "description = 3"), "'description'"),
    ],
)
def test_errors_name_the_file_and_the_field(edit, where):
    text = VALID.replace(*edit)
    assert text != VALID
    with pytest.raises(ContractError) as caught:
        parse_record_documents([("notes.toml", text)])
    assert str(caught.value).startswith(f"notes.toml: field {where}:"), caught.value


def test_enum_must_be_strings_and_int_limits_integers():
    bad_enum = VALID.replace("max_length = 20", "enum = [1, 2]")
    with pytest.raises(ContractError, match=r"fields\[0\].enum"):
        parse_record_documents([("a.toml", bad_enum)])
    int_limit = VALID.replace('type = "float64"', 'type = "int64"')
    with pytest.raises(ContractError, match=r"fields\[1\].maximum"):
        parse_record_documents([("a.toml", int_limit)])


def test_no_fields_invalid_toml_and_duplicate_datasets():
    with pytest.raises(ContractError, match="'fields'"):
        parse_record_documents([("a.toml", 'dataset = "a"')])
    with pytest.raises(ContractError, match=r"a\.toml: invalid TOML"):
        parse_record_documents([("a.toml", "dataset = ")])
    with pytest.raises(
        ContractError, match=r"b\.toml: dataset 'notes' is also declared in a\.toml"
    ):
        parse_record_documents([("a.toml", VALID), ("b.toml", VALID)])
