"""The OpenAPI document declares what API Gateway (and the local front) answer on their own, and
where the API is served."""

from __future__ import annotations

import pytest

from headwater.handlers import openapi
from headwater.local.apigateway import front


@pytest.fixture(scope="module")
def document() -> dict:
    return openapi.document()


def operations(document: dict):
    for path, item in document["paths"].items():
        for verb, operation in item.items():
            yield path, verb, operation


def test_every_operation_declares_the_gateways_request_limits(document):
    error = {"$ref": "#/components/schemas/Error"}
    for path, verb, operation in operations(document):
        for code in ("413", "414", "431"):
            schema = operation["responses"][code]["content"]["application/json"]["schema"]
            if schema != error and code == "413":
                # A route may declare its own 413 (records: the records over the limit), as long
                # as the gateway's {"message": ...} still fits it.
                own = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
                assert own["required"] == ["message"], (path, verb, code)
                continue
            assert schema == error, (path, verb, code)


def test_function_routes_declare_integration_failures_and_health_does_not(document):
    for path, _, operation in operations(document):
        function_backed = path != "/health"
        for code in ("502", "504"):
            assert (code in operation["responses"]) is function_backed, (path, code)


def test_declared_limits_are_the_fronts(document):
    # The descriptions name the limits the local front enforces: one source of the numbers.
    assert front.MAX_BODY_BYTES == 10 * 1024 * 1024
    assert "8192" in openapi.GATEWAY_RESPONSES["414"] and front.MAX_URL_LENGTH == 8192
    assert "10240" in openapi.GATEWAY_RESPONSES["431"] and front.MAX_HEADER_BYTES == 10240


def test_servers_name_the_local_front_and_a_deployed_stage(document):
    local, deployed = document["servers"]
    assert local["url"].startswith("http://127.0.0.1:{port}/")
    assert local["variables"]["port"]["default"] == str(front.DEFAULT_API_PORT)
    assert "execute-api" in deployed["url"]
