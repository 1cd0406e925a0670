"""The collect routes in the merged OpenAPI document: request bodies with examples the handler
accepts, the limit's 409 documented."""

from __future__ import annotations

import jsonschema_rs
import pytest

from headwater.handlers import openapi
from tests.support.collect_api import request


@pytest.fixture(scope="module")
def document() -> dict:
    return openapi.document()


BODIES = [
    ("post", "/schedules"),
    ("patch", "/schedules/{name}"),
    ("post", "/connections"),
    ("put", "/connections/{name}"),
]


def _example(document, verb, path):
    media = document["paths"][path][verb]["requestBody"]["content"]["application/json"]
    [example] = media["examples"].values()
    return media["schema"], example["value"]


@pytest.mark.parametrize(("verb", "path"), BODIES)
def test_request_body_examples_fit_their_schemas(document, verb, path):
    schema, value = _example(document, verb, path)
    assert jsonschema_rs.validator_for(schema).is_valid(value)
    assert not jsonschema_rs.validator_for(schema).is_valid({**value, "unknown": 1})


def test_the_handler_accepts_every_documented_example_in_order(document, collect_env):
    for verb, path in BODIES:
        _, value = _example(document, verb, path)
        params = {"name": "daily"} if "schedules" in path else {"name": "meta-main"}
        status, body, _ = request(verb.upper(), path, params if "{" in path else {}, value)
        assert status in (200, 201), (verb, path, body)


def test_the_limit_and_duplicate_409_is_documented(document):
    description = document["paths"]["/schedules"]["post"]["responses"]["409"]["description"]
    assert "COLLECT_MAX_SCHEDULES" in description
    assert "COLLECT_MAX_SCHEDULES" in document["paths"]["/schedules"]["post"]["description"]


def test_every_collect_operation_documents_the_busy_503_and_the_in_use_409(document):
    # The shared ClientError handler answers 503 on every route (api.add_common_handlers).
    operations = [
        (path, verb, operation)
        for path, item in document["paths"].items()
        if path.startswith(("/schedules", "/connections"))
        for verb, operation in item.items()
    ]
    assert len(operations) == 10  # 6 schedule and 4 connection operations
    for path, verb, operation in operations:
        busy = operation["responses"].get("503")
        assert busy and "Retry-After" in busy["description"], (verb, path)
    delete = document["paths"]["/connections/{name}"]["delete"]
    assert "409" in delete["responses"]
    assert [p["name"] for p in delete["parameters"] if p["in"] == "query"] == ["force"]
