"""The JSON Schema derived from a declaration: valid draft 4, and it accepts and refuses what
the declaration says (the API Gateway model and the handler's validator are this document)."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft4Validator

from headwater.records import json_schema
from headwater.records.declarations import MAX_BATCH, load_record_datasets, parse_record_documents
from tests.support.records import GOOD

ORDERS = load_record_datasets()["orders"]


@pytest.fixture(scope="module")
def request_validator() -> Draft4Validator:
    schema = json_schema.request_schema(ORDERS)
    Draft4Validator.check_schema(schema)
    return Draft4Validator(schema)


def test_schemas_are_draft_4():
    for schema in (json_schema.record_schema(ORDERS), json_schema.request_schema(ORDERS)):
        assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
        Draft4Validator.check_schema(schema)


def test_accepts_a_record_a_batch_and_nulls_for_optional_fields(request_validator):
    assert request_validator.is_valid(GOOD)
    assert request_validator.is_valid([GOOD] * MAX_BATCH)
    assert request_validator.is_valid({**GOOD, "note": None, "quantity": None, "gift": None})
    minimal = {k: GOOD[k] for k in ("order_id", "customer_id", "amount", "currency", "placed_at")}
    assert request_validator.is_valid(minimal)


@pytest.mark.parametrize(
    "body",
    [
        {**GOOD, "colour": "red"},  # unknown field
        {k: v for k, v in GOOD.items() if k != "currency"},  # missing required
        {**GOOD, "order_id": None},  # required is not nullable
        {**GOOD, "order_id": ""},  # min_length
        {**GOOD, "order_id": "x" * 65},  # max_length
        {**GOOD, "amount": -0.01},  # minimum
        {**GOOD, "amount": 1_000_000.5},  # maximum
        {**GOOD, "currency": "JPY"},  # enum
        {**GOOD, "quantity": 0},  # int minimum
        {**GOOD, "quantity": 1.5},  # integer type
        {**GOOD, "quantity": 2**63},  # int64 range
        {**GOOD, "gift": "yes"},  # boolean
        {**GOOD, "placed_at": "2026-12-01"},  # timestamp pattern
        {**GOOD, "amount": "12.5"},  # number type
        [],  # empty batch
        [GOOD] * (MAX_BATCH + 1),  # batch over the limit
        [GOOD, {**GOOD, "colour": "red"}],  # one bad record in a batch
        "GOOD",
    ],
)
def test_refuses(request_validator, body):
    assert not request_validator.is_valid(body)


def test_pattern_and_date_fields():
    [dataset] = parse_record_documents(
        [
            (
                "a.toml",
                'dataset = "a"\n[[fields]]\nname = "code"\ntype = "string"\n'
                'pattern = "^[A-Z]{3}$"\n'
                '[[fields]]\nname = "day"\ntype = "date"\nrequired = true\n',
            )
        ]
    ).values()
    validator = Draft4Validator(json_schema.record_schema(dataset))
    assert validator.is_valid({"code": "ABC", "day": "2026-12-01"})
    assert validator.is_valid({"day": "2026-12-01"})
    assert not validator.is_valid({"code": "abc", "day": "2026-12-01"})
    assert not validator.is_valid({"day": "2026-12-01T00:00:00Z"})


def test_model_document_and_terraform_variable():
    text = json_schema.model_document(ORDERS)
    assert json.loads(text) == json_schema.request_schema(ORDERS)
    assert text == json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))
    variable = json_schema.terraform_datasets({"orders": ORDERS})
    assert variable == {
        "record_datasets": {"orders": {"description": ORDERS.description, "schema": text}}
    }
