"""The records paths of the OpenAPI document: one pair per declared dataset, the request body
the dataset's own JSON Schema (the gateway's model), examples that schema admits, and every
documented route served by the handler."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft4Validator

from headwater.handlers import openapi, records_api
from headwater.handlers import records_api_examples as examples
from headwater.records import json_schema, validation
from headwater.records.declarations import load_record_datasets, parse_record_documents
from headwater.records.store import RecordStore
from tests.support.lambda_context import LambdaContext
from tests.support.records import api_event, records_environment

DATASETS = load_record_datasets()


@pytest.fixture(scope="module")
def document() -> dict:
    return openapi.document()


def test_one_path_pair_per_declared_dataset(document):
    records = sorted(p for p in document["paths"] if p.startswith("/records"))
    expected = sorted(p for n in DATASETS for p in (f"/records/{n}", f"/records/{n}/{{id}}"))
    assert records == expected
    ids = [op["operationId"] for ops in document["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_request_body_is_the_gateway_model(document, name):
    post = document["paths"][f"/records/{name}"]["post"]
    assert post["security"] == [{"api_key": []}]
    assert [p["name"] for p in post["parameters"]] == ["idempotency-key"]
    body = post["requestBody"]["content"]["application/json"]
    gateway_model = json.loads(json_schema.model_document(DATASETS[name]))
    assert body["schema"] == {k: v for k, v in gateway_model.items() if k != "$schema"}
    validator = Draft4Validator(gateway_model)
    for example in body["examples"].values():
        assert validator.is_valid(example["value"]), example
        assert validation.records_of(DATASETS[name], example["value"])
    codes = set(post["responses"])
    assert {"201", "400", "403", "404", "409", "413", "422", "429", "503"} <= codes
    get = document["paths"][f"/records/{name}/{{id}}"]["get"]
    assert [p["name"] for p in get["parameters"]] == ["id"]
    assert {"200", "403", "404", "429"} <= set(get["responses"])


def test_example_record_respects_every_limit():
    [dataset] = parse_record_documents(
        [
            (
                "a.toml",
                'dataset = "a"\n'
                '[[fields]]\nname = "s"\ntype = "string"\nrequired = true\nmin_length = 3\n'
                '[[fields]]\nname = "i"\ntype = "int64"\nminimum = 5\n'
                '[[fields]]\nname = "f"\ntype = "float64"\nmaximum = -2\n'
                '[[fields]]\nname = "p"\ntype = "string"\npattern = "^a$"\n'
                '[[fields]]\nname = "d"\ntype = "date"\n'
                '[[fields]]\nname = "t"\ntype = "timestamp"\n'
                '[[fields]]\nname = "b"\ntype = "bool"\n',
            )
        ]
    ).values()
    record = examples.example_record(dataset)
    assert record is not None and "p" not in record
    assert validation.records_of(dataset, record) == [record]
    required_pattern = parse_record_documents(
        [
            (
                "b.toml",
                'dataset = "b"\n[[fields]]\nname = "p"\ntype = "string"\n'
                'required = true\npattern = "^a$"\n',
            )
        ]
    )["b"]
    assert examples.example_record(required_pattern) is None


@pytest.fixture
def records_env(monkeypatch):
    yield from records_environment(monkeypatch)


def test_documented_routes_reach_the_function(records_env, document):
    # A documented route the resolver does not have would answer the catch-all "Not found".
    for path, ops in document["paths"].items():
        if not path.startswith("/records/"):
            continue
        dataset = path.split("/")[2]
        [(method, _)] = ops.items()
        if method == "post":
            event = api_event("POST", "/records/{dataset}", {"dataset": dataset}, body=[])
            expected = 400
        else:
            event = api_event("GET", "/records/{dataset}/{id}", {"dataset": dataset, "id": "x"})
            expected = 404
        response = records_api.handler(event, LambdaContext())
        body = json.loads(response["body"])
        assert response["statusCode"] == expected and body["message"] != "Not found", path


def test_error_examples_are_what_the_api_answers(records_env, monkeypatch):
    from tests.support.records import GOOD

    def answer(event) -> tuple[int, dict]:
        response = records_api.handler(event, LambdaContext())
        return response["statusCode"], json.loads(response["body"])

    def post(body=None, key_id="k-acme", headers=None, raw_body=None):
        return answer(
            api_event(
                "POST",
                "/records/{dataset}",
                {"dataset": "orders"},
                body=body,
                key_id=key_id,
                headers=headers,
                raw_body=raw_body,
            )
        )

    expected = {code: body for code, (_, body) in examples.ERRORS.items()}
    assert post([GOOD, {**GOOD, "amount": -1, "colour": "red"}]) == (400, expected[400])
    assert post(GOOD, key_id="k-initech") == (403, expected[403])
    get = api_event(
        "GET", "/records/{dataset}/{id}", {"dataset": "orders", "id": examples.RECORD_ID}
    )
    assert answer(get) == (404, expected[404])
    raw = json.dumps(GOOD) + " " * (480_000 - len(json.dumps(GOOD)))
    assert post(raw_body=raw) == (413, expected[413])
    assert post(GOOD, headers={"Idempotency-Key": "k"})[0] == 201
    assert post({**GOOD, "amount": 1}, headers={"Idempotency-Key": "k"}) == (422, expected[422])
    inner = []
    original = RecordStore.put_many

    def duplicate_meanwhile(self, items):
        inner.append(post(GOOD, headers={"Idempotency-Key": "k2"}))
        original(self, items)

    monkeypatch.setattr(RecordStore, "put_many", duplicate_meanwhile)
    assert post(GOOD, headers={"Idempotency-Key": "k2"})[0] == 201
    assert inner == [(409, expected[409])]
    assert records_api._unavailable(None).body == json.dumps(expected[503])
