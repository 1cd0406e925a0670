"""The REST API's one OpenAPI document, merged from every capability's API resolver.

One REST API per environment serves every capability, so users get one document. Each
capability's API function declares its routes on a Powertools resolver (typed parameters,
responses, security); Powertools' ``OpenAPIMerge`` joins their schemas (a route declared twice
is an error, not a silent overwrite). ``PLATFORM_PATHS`` adds what API Gateway answers itself:
``GET /health`` is a MOCK integration in terraform/modules/api/main.tf, so no resolver has it.

``headwater openapi`` writes the result to docs/openapi.json; a unit test keeps that file equal
to this document.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge
from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn

from headwater.handlers import (
    collect_api,
    collect_api_examples,
    lookup_api,
    records_api,
    records_api_examples,
)

TITLE = "headwater API"
VERSION = "1"

# Every capability's API resolver: add a capability's here when it gets an API function.
RESOLVERS = (lookup_api.app, records_api.app, collect_api.app)

# Routes API Gateway answers without a function (terraform/modules/api/main.tf), as a fragment.
PLATFORM_PATHS: dict[str, Any] = {
    "paths": {
        "/health": {
            "get": {
                "operationId": "health",
                "summary": "Liveness check, answered by API Gateway (no API key, no function)",
                "security": [],
                "responses": {
                    "200": {
                        "description": "OK",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/Health"},
                                "examples": {"ok": {"value": {"status": "ok"}}},
                            }
                        },
                    }
                },
            }
        }
    },
    "components": {
        "schemas": {
            "Health": {
                "type": "object",
                "required": ["status"],
                "properties": {"status": {"type": "string", "enum": ["ok"]}},
            }
        }
    },
}


# What API Gateway (and the local front, src/headwater/local/apigateway/front.py) answers before
# or instead of any function, for every route: its request limits, as {"message": ...}.
GATEWAY_RESPONSES = {
    "413": "Request body over API Gateway's 10 MB payload limit",
    "414": "URL over 8192 characters",
    "431": "Request line and headers over 10240 bytes",
}
# ... and for routes backed by a function: the function failed or answered a malformed proxy
# response (502), or the integration timed out (504).
INTEGRATION_RESPONSES = {
    "502": "The function failed or returned a malformed response",
    "504": "The integration timed out",
}
# The message of each (API Gateway's texts, which the front answers too): the examples.
GATEWAY_MESSAGES = {
    "413": "Request Too Long",
    "414": "Request-URI Too Long",
    "431": "Request Header Fields Too Large",
    "502": "Internal server error",
    "504": "Endpoint request timed out",
}

# Where the API is served: the local front of `./setup.sh run` (`./setup.sh cli local summary`
# prints the actual URL; ports start at HEADWATER_API_PORT) and a deployed stage on AWS.
SERVERS = [
    {
        "url": "http://127.0.0.1:{port}/{stage}",
        "description": "the local mode's API front (./setup.sh run)",
        "variables": {"port": {"default": "4580"}, "stage": {"default": "v1"}},
    },
    {
        "url": "https://{restApiId}.execute-api.{region}.amazonaws.com/{stage}",
        "description": "a deployed environment (terraform output api_url)",
        "variables": {
            "restApiId": {"default": "abc123"},
            "region": {"default": "us-east-1"},
            "stage": {"default": "v1"},
        },
    },
]

# API keys travel in the x-api-key header (API Gateway checks them; usage plans meter them).
SECURITY_SCHEMES = {lookup_api.API_KEY_SCHEME: APIKey(name="x-api-key", in_=APIKeyIn.header)}


def document() -> dict[str, Any]:
    merge = OpenAPIMerge(
        title=TITLE, version=VERSION, security_schemes=SECURITY_SCHEMES, on_conflict="error"
    )
    for resolver in RESOLVERS:
        merge.add_schema(
            resolver.get_openapi_schema(
                title=TITLE, version=VERSION, security_schemes=SECURITY_SCHEMES
            )
        )
    merge.add_schema(PLATFORM_PATHS)
    # The JSON form: Powertools validates the merged document against its OpenAPI model and
    # serializes the scheme objects; parsed back, it is plain data to compare and write.
    doc = _without_422(json.loads(merge.get_openapi_json_schema()))
    # The gateway has one records path per declared dataset, each with its own body schema.
    doc = records_api_examples.dataset_paths(doc, records_api.datasets())
    # The collect routes parse their bodies themselves (every error at once): their schemas.
    doc = collect_api_examples.collect_paths(doc)
    doc["servers"] = SERVERS
    return _with_gateway_responses(doc)


def _with_gateway_responses(doc: dict[str, Any]) -> dict[str, Any]:
    """Declare the gateway's own answers on every operation (a route's own text wins)."""
    for path_item in doc.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            extra = dict(GATEWAY_RESPONSES)
            if operation.get("security") != []:  # routed to a function (health is a MOCK)
                extra.update(INTEGRATION_RESPONSES)
            for code, description in extra.items():
                example = {code: {"value": {"message": GATEWAY_MESSAGES[code]}}}
                error = {"schema": {"$ref": "#/components/schemas/Error"}, "examples": example}
                content = {"application/json": error}
                responses.setdefault(code, {"description": description, "content": content})
            operation["responses"] = dict(sorted(responses.items()))
    return doc


def _without_422(doc: dict[str, Any]) -> dict[str, Any]:
    """Drop the 422 response Powertools adds to every validated route (it has no switch for it):
    our resolvers answer a failed validation with 400 ``{"message": ...}`` (their
    RequestValidationError handler), which each route documents itself. Schemas nothing refers
    to any more (Powertools' validation error shapes) go too."""
    for path_item in doc.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.get("responses", {})
            # Only Powertools' own; a route's declared 422 (records: Idempotency-Key reused for
            # another body) stays.
            if "HTTPValidationError" in json.dumps(responses.get("422", {})):
                del responses["422"]
    schemas = doc.get("components", {}).get("schemas", {})
    while True:
        text = json.dumps(doc)
        unused = [n for n in schemas if f'"#/components/schemas/{n}"' not in text]
        if not unused:
            return doc
        for name in unused:
            del schemas[name]
