"""Body validation of the local API front, decided per method, content type and model version."""

from __future__ import annotations

import json

from headwater.local.apigateway.events import IncomingRequest
from headwater.local.apigateway.model import Method, RestApi
from headwater.local.apigateway.request_validation import (
    INVALID_BODY,
    body_error,
    compiled,
    model_for,
)

OBJECT = json.dumps({"type": "object", "required": ["a"], "additionalProperties": False,
                     "properties": {"a": {"type": "string"}}})  # fmt: skip


def request(body: bytes, content_type: str | None = "application/json") -> IncomingRequest:
    headers = [("Content-Type", content_type)] if content_type else []
    return IncomingRequest("POST", "/things", "v1", headers, [], body, "127.0.0.1")


def method(models: dict[str, str], validate_body: bool = True) -> Method:
    return Method(
        "POST",
        "r1",
        "/things",
        False,
        None,
        request_models=tuple(models.items()),
        validate_body=validate_body,
    )


def api(**models: str) -> RestApi:
    return RestApi("api1", "api", (), {}, models)


def test_only_a_body_validator_with_a_model_for_the_content_type_checks():
    json_only = method({"application/json": "Thing"})
    assert model_for(json_only, request(b"{}")) == "Thing"
    assert model_for(json_only, request(b"{}", "Application/JSON; charset=utf-8")) == "Thing"
    assert model_for(json_only, request(b"{}", None)) == "Thing"  # no header: application/json
    assert model_for(json_only, request(b"{}", "text/plain")) is None
    assert model_for(method({"$default": "Any"}), request(b"x", "text/csv")) == "Any"
    assert (
        model_for(method({"application/json": "Thing"}, validate_body=False), request(b"{}"))
        is None
    )


def test_body_error_is_the_gateways_message():
    things = api(Thing=OBJECT)
    checked = method({"application/json": "Thing"})
    assert body_error(things, checked, request(b'{"a": "x"}')) is None
    assert body_error(things, checked, request(b'{"a": "x", "b": 1}')) == INVALID_BODY
    assert body_error(things, checked, request(b"{")) == INVALID_BODY
    assert body_error(things, checked, request(b"")) == INVALID_BODY  # checked as {}: "a" missing
    assert body_error(things, checked, request(b"\xff")) == INVALID_BODY


def test_validators_are_cached_per_model_version():
    first = compiled("api1", "Thing", OBJECT)
    assert compiled("api1", "Thing", OBJECT) is first
    changed = json.dumps({"type": "array"})
    second = compiled("api1", "Thing", changed)
    assert second is not first and second.is_valid([]) and not first.is_valid([])


def test_a_model_that_is_not_a_schema_checks_nothing():
    broken = api(Thing='{"type": 5}')
    assert compiled("api1", "Thing", '{"type": 5}') is None
    assert body_error(broken, method({"application/json": "Thing"}), request(b"[]")) is None
    assert body_error(api(), method({"application/json": "Missing"}), request(b"[]")) is None
