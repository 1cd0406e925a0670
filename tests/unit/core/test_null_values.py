"""Missing-value tokens: one declared list, honoured by ingest's Arrow path, the shared row
validation and lookup's loader alike."""

from __future__ import annotations

import io

import pyarrow.parquet as pq
import pytest

from headwater.contracts.rows import RowValidator
from headwater.contracts.rules import NULL_VALUE, ContractError, ContractViolation
from headwater.contracts.schema import parse_contract
from headwater.ingest.contracts import parse_documents
from headwater.ingest.convert import convert_to_parquet
from headwater.lookup.contracts import parse_lookup_documents
from headwater.lookup.loader import parse_csv

CSV_CONTRACT = """
dataset = "people"
prefix = "people/"
format = "csv"
null_values = ["", "NA"]

[[columns]]
name = "id"
type = "int64"
nullable = false

[[columns]]
name = "age"
type = "int64"

[[columns]]
name = "city"
type = "string"
"""


def contract(text: str = CSV_CONTRACT):
    return parse_documents([("people.toml", text)])[0]


def test_declared_tokens_are_parsed_and_default_to_the_empty_field():
    assert contract().null_values == ("", "NA")
    without = CSV_CONTRACT.replace('null_values = ["", "NA"]\n', "")
    assert contract(without).null_values == ("",)


@pytest.mark.parametrize(
    ("value", "problem"),
    [('"NA"', "must be a list of strings"), ("[1]", "must be a list of strings")],
)
def test_bad_null_values_name_the_field(value, problem):
    text = CSV_CONTRACT.replace('["", "NA"]', value)
    with pytest.raises(ContractError, match=rf"people\.toml: field 'null_values': {problem}"):
        contract(text)


def test_null_values_are_refused_for_json_formats():
    data = {"dataset": "e", "prefix": "e/", "format": "ndjson", "null_values": ["NA"]}
    data["columns"] = [{"name": "a", "type": "string"}]
    with pytest.raises(ContractError, match="only applies to csv"):
        parse_contract(data, "e.toml")


def test_ingest_reads_tokens_as_null_in_integer_and_string_columns(tmp_path):
    data = b"id,age,city\n1,NA,Oslo\n2,41,NA\n3,,\n"
    out = tmp_path / "out.parquet"
    convert_to_parquet(lambda: io.BytesIO(data), contract(), out)
    table = pq.read_table(out)
    assert table.column("age").to_pylist() == [None, 41, None]
    assert table.column("city").to_pylist() == ["Oslo", None, None]


def test_a_token_in_a_non_nullable_column_is_a_null_value_violation(tmp_path):
    data = b"id,age,city\n1,2,x\nNA,3,y\n"
    with pytest.raises(ContractViolation) as info:
        convert_to_parquet(lambda: io.BytesIO(data), contract(), tmp_path / "o.parquet")
    assert (info.value.rule, info.value.row, info.value.column) == (NULL_VALUE, 2, "id")


def test_row_validation_honours_the_tokens_for_text_only():
    validator = RowValidator(contract(), text_values=True)
    assert validator.convert({"id": "1", "age": "NA", "city": "NA"}, 1) == {
        "id": 1,
        "age": None,
        "city": None,
    }


def test_lookup_loader_honours_the_tokens():
    lookups = parse_lookup_documents(
        [
            (
                "staff.toml",
                'dataset = "staff"\npartition_key = "dept"\nmember_key = "id"\n'
                'null_values = ["", "NA"]\n'
                '[[columns]]\nname = "dept"\ntype = "string"\nnullable = false\n'
                '[[columns]]\nname = "id"\ntype = "string"\nnullable = false\n'
                '[[columns]]\nname = "band"\ntype = "int64"\n'
                '[[columns]]\nname = "title"\ntype = "string"\n',
            )
        ]
    )
    parsed = parse_csv(io.BytesIO(b"dept,id,band,title\nd1,e1,NA,NA\n"), lookups["staff"])
    assert parsed.partitions == {"d1": {"e1": {"band": None, "title": None}}}
