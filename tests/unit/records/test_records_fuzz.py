"""Property-based fuzzing of POST /records/orders through the handler (moto underneath): never a
5xx, every error is JSON with a message, and the handler agrees with the gateway's model (the
same JSON Schema): what the model refuses is never stored, what the handler stores the model
admits, and what the model admits the handler refuses only for what a draft-4 pattern cannot
say (a real calendar day and instant, a finite float)."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft4Validator

from headwater.handlers import records_api
from headwater.records import json_schema
from headwater.records.declarations import load_record_datasets
from tests.support.lambda_context import LambdaContext
from tests.support.records import GOOD, api_event, records_environment

ORDERS = load_record_datasets()["orders"]
MODEL = Draft4Validator(json.loads(json_schema.model_document(ORDERS)))
BEYOND_THE_PATTERN = {"timestamp", "date", "float64"}

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
# Per field: the good value, a neighbour of it, or anything at all.
TIMESTAMPS = st.from_regex(json_schema.TIMESTAMP_PATTERN, fullmatch=True)
FIELD_VALUES = {
    "order_id": st.sampled_from(["", "A", "x" * 64, "x" * 65]) | st.text(max_size=70),
    "customer_id": st.text(max_size=70),
    "amount": st.sampled_from([0, -0.0, 1e6, 1e6 + 1, -1, 1e400]) | st.floats(-10, 2e6),
    "currency": st.sampled_from(["EUR", "GBP", "USD", "JPY", "eur", ""]),
    "quantity": st.sampled_from([0, 1, 10_000, 10_001, 2**63, 1.0, None]) | st.integers(),
    "placed_at": TIMESTAMPS | st.sampled_from(["2026-12-01", "2026-02-30T00:00:00Z"]),
    "gift": st.booleans() | st.none() | st.sampled_from(["true", 1]),
    # Lone surrogates too: JSON can escape them ("\ud800"), no store can hold them.
    "note": st.none()
    | st.text(max_size=510)
    | st.text(st.characters(categories=["Cs"]), min_size=1),
}


@st.composite
def records(draw):
    record = dict(GOOD)
    for name in draw(st.lists(st.sampled_from(sorted(FIELD_VALUES)), max_size=3, unique=True)):
        choice = draw(st.integers(0, 9))
        if choice == 0:
            record.pop(name)
        elif choice == 1:
            record[name] = draw(JSON)
        else:
            record[name] = draw(FIELD_VALUES[name])
    if draw(st.integers(0, 9)) == 0:
        record[draw(st.text(min_size=1, max_size=8))] = draw(JSON)
    return record


BODIES = st.one_of(records(), st.lists(records(), min_size=0, max_size=5), JSON)


@pytest.fixture(scope="module")
def environment():
    monkeypatch = pytest.MonkeyPatch()
    generator = records_environment(monkeypatch)
    yield next(generator)
    generator.close()
    monkeypatch.undo()


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(body=BODIES)
def test_post_never_fails_and_agrees_with_the_gateway_model(environment, body):
    try:
        text = json.dumps(body, allow_nan=False)
    except ValueError:  # 1e400: not JSON a client can send; send the literal instead
        text = json.dumps(body).replace("Infinity", "1e400")
    event = api_event("POST", "/records/{dataset}", {"dataset": "orders"}, raw_body=text)
    response = records_api.handler(event, LambdaContext(function_name="hw-records-api"))
    status, answer = response["statusCode"], json.loads(response["body"])
    assert status in (201, 400, 413), (status, answer)
    parsed = json.loads(text)
    if status == 201:
        assert MODEL.is_valid(parsed), body
        assert len(answer["ids"]) == (len(parsed) if isinstance(parsed, list) else 1)
        return
    assert isinstance(answer["message"], str) and answer["message"]
    if status == 400 and MODEL.is_valid(parsed):
        try:
            json.dumps(parsed, ensure_ascii=False).encode()
        except UnicodeEncodeError:  # a lone surrogate: valid JSON text, no character
            assert "surrogate" in answer["message"], answer
            return
        rules = {e["rule"] for e in answer["errors"]}
        assert rules and rules <= BEYOND_THE_PATTERN, answer
