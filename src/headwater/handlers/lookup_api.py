"""Lambda entrypoint of the lookup API (API Gateway REST v1, Lambda proxy) over LookupStore.

Routes: GET /health (no key), GET /lookups/{dataset}, GET /lookups/{dataset}/{key},
GET /lookups/{dataset}/{key}/{member}. API keys are checked by API Gateway (or the local front)
before the function runs; the function never logs them (the event is not logged, and only the
key's id is). ``OPERATIONS`` documents each route; ``headwater openapi`` builds the OpenAPI
document from the resolver's routes and these entries, and a test keeps them in step.
"""

from __future__ import annotations

import functools
import json
import os
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths

from headwater.handlers.support.settings import env_var, read_settings
from headwater.lookup.store import InvalidCursor, LookupStore, StoreBusy

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
_LIMIT = re.compile(r"[0-9]{1,4}\Z")

app = APIGatewayRestResolver()


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _json(status: int, body: dict[str, Any]) -> Response:
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body=json.dumps(body)
    )


@functools.cache
def _store(table: str) -> LookupStore:
    return LookupStore(table)


@dataclass(frozen=True)
class Settings:
    table: str = env_var("LOOKUP_TABLE")


def store() -> LookupStore:
    return _store(read_settings(Settings).table)


def _param(name: str, matched: str) -> str:
    # API Gateway decodes pathParameters; the resolver matches the raw path. Prefer the former.
    decoded = (app.current_event.path_parameters or {}).get(name)
    return decoded if decoded is not None else unquote(matched)


def _limit() -> int:
    raw = app.current_event.get_query_string_value("limit")
    if raw is None:
        return DEFAULT_LIMIT
    if not _LIMIT.match(raw) or not 1 <= int(raw) <= MAX_LIMIT:
        raise ApiError(400, f"limit must be an integer from 1 to {MAX_LIMIT}")
    return int(raw)


def _unknown_dataset(dataset: str) -> ApiError:
    return ApiError(404, f"unknown dataset {dataset!r}")


@app.get("/health")
def health() -> dict[str, Any]:
    return {"status": "ok"}


@app.get("/lookups/<dataset>")
def list_keys(dataset: str) -> dict[str, Any]:
    dataset = _param("dataset", dataset)
    limit = _limit()
    cursor = app.current_event.get_query_string_value("cursor")
    if cursor is not None and not cursor:
        raise ApiError(400, "cursor must not be empty")
    lookups = store()
    version = lookups.current_version(dataset)
    if version is None:
        raise _unknown_dataset(dataset)
    try:
        keys, next_cursor = lookups.list_keys(dataset, limit=limit, cursor=cursor)
    except InvalidCursor as exc:
        raise ApiError(400, str(exc)) from None
    return {"dataset": dataset, "version": version, "keys": keys, "next_cursor": next_cursor}


@app.get("/lookups/<dataset>/<key>")
def get_partition(dataset: str, key: str) -> dict[str, Any]:
    dataset, key = _param("dataset", dataset), _param("key", key)
    partition = store().get_partition(dataset, key)
    if partition is None:
        raise _missing(dataset, f"unknown key {key!r} in dataset {dataset!r}")
    return partition


@app.get("/lookups/<dataset>/<key>/<member>")
def get_member(dataset: str, key: str, member: str) -> dict[str, Any]:
    dataset, key, member = _param("dataset", dataset), _param("key", key), _param("member", member)
    partition = store().get_partition(dataset, key)
    if partition is None:
        raise _missing(dataset, f"unknown key {key!r} in dataset {dataset!r}")
    if member not in partition["members"]:
        raise ApiError(404, f"unknown member {member!r} in key {key!r}")
    return {
        "dataset": dataset,
        "key": key,
        "member": member,
        "version": partition["version"],
        "facts": partition["members"][member],
    }


def _missing(dataset: str, message: str) -> ApiError:
    # Only on a miss: tell an unknown dataset from an unknown key with one more read.
    if store().current_version(dataset) is None:
        return _unknown_dataset(dataset)
    return ApiError(404, message)


@app.exception_handler(ApiError)
def _api_error(exc: ApiError) -> Response:
    return _json(exc.status, {"message": exc.message})


@app.exception_handler(StoreBusy)
def _busy(exc: StoreBusy) -> Response:
    return _json(503, {"message": "the dataset is being replaced; retry shortly"})


@app.not_found
def _not_found(exc: Exception) -> Response:
    return _json(404, {"message": "Not found"})


@functools.cache
def _logger(service: str | None) -> Logger:
    return Logger(service=service)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    logger = _logger(os.environ.get("POWERTOOLS_SERVICE_NAME"))

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
    def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
        try:
            response = app.resolve(event, context)
        except Exception:
            # Type and place only: never the event (it holds the API key value).
            logger.exception("request failed", extra=_request_fields(event))
            return {
                "statusCode": 500,
                "headers": {"Content-Type": content_types.APPLICATION_JSON},
                "body": json.dumps({"message": "Internal server error"}),
                "isBase64Encoded": False,
            }
        logger.info("request", extra={**_request_fields(event), "status": response["statusCode"]})
        return response

    return handle(event, context)


def _request_fields(event: dict[str, Any]) -> dict[str, Any]:
    identity = (event.get("requestContext") or {}).get("identity") or {}
    return {
        "method": event.get("httpMethod"),
        "resource": event.get("resource"),
        "api_key_id": identity.get("apiKeyId"),  # the id only, never identity["apiKey"]
    }


# ---- OpenAPI ------------------------------------------------------------------------------

_ERROR = {"$ref": "#/components/schemas/Error"}


def _responses(ok: str, *extra: int, secured: bool = True) -> dict[str, Any]:
    text = {
        400: "Bad parameters",
        403: "Missing or unknown API key",
        404: "Unknown dataset, key or member",
        429: "Throttled or over quota",
        503: "The dataset is being replaced; retry",
    }
    codes = sorted({*extra, 503, *((403, 429) if secured else ())})
    responses: dict[str, Any] = {
        "200": {
            "description": "OK",
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ok}"}}},
        }
    }
    for code in codes:
        responses[str(code)] = {
            "description": text[code],
            "content": {"application/json": {"schema": _ERROR}},
        }
    return responses


def _path_param(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string", "minLength": 1},
    }


_DATASET = _path_param("dataset", "Lookup dataset name, e.g. employees")
_KEY = _path_param("key", "Partition key value, e.g. a department")
_MEMBER = _path_param("member", "Member key value, e.g. an employee id")

# (method, OpenAPI path) -> operation; the test checks these against the resolver's routes.
OPERATIONS: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", "/health"): {
        "operationId": "health",
        "summary": "Liveness check (no API key)",
        "security": [],
        "responses": _responses("Health", secured=False),
    },
    ("GET", "/lookups/{dataset}"): {
        "operationId": "listKeys",
        "summary": "List the dataset's partition keys, a page at a time",
        "parameters": [
            _DATASET,
            {
                "name": "limit",
                "in": "query",
                "required": False,
                "schema": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": MAX_LIMIT,
                    "default": DEFAULT_LIMIT,
                },
            },
            {
                "name": "cursor",
                "in": "query",
                "required": False,
                "description": "next_cursor from the previous page",
                "schema": {"type": "string", "minLength": 1},
            },
        ],
        "responses": _responses("KeyPage", 400, 404),
    },
    ("GET", "/lookups/{dataset}/{key}"): {
        "operationId": "getPartition",
        "summary": "One partition key with its members nested",
        "parameters": [_DATASET, _KEY],
        "responses": _responses("Partition", 404),
    },
    ("GET", "/lookups/{dataset}/{key}/{member}"): {
        "operationId": "getMember",
        "summary": "One member of a partition key",
        "parameters": [_DATASET, _KEY, _MEMBER],
        "responses": _responses("Member", 404),
    },
}

_FACTS = {"type": "object", "additionalProperties": True}
SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["message"],
        "properties": {"message": {"type": "string"}},
    },
    "Health": {
        "type": "object",
        "required": ["status"],
        "properties": {"status": {"type": "string", "enum": ["ok"]}},
    },
    "KeyPage": {
        "type": "object",
        "required": ["dataset", "version", "keys", "next_cursor"],
        "properties": {
            "dataset": {"type": "string"},
            "version": {"type": "string"},
            "keys": {"type": "array", "items": {"type": "string"}},
            "next_cursor": {"type": ["string", "null"]},
        },
    },
    "Partition": {
        "type": "object",
        "required": ["dataset", "key", "version", "members"],
        "properties": {
            "dataset": {"type": "string"},
            "key": {"type": "string"},
            "version": {"type": "string"},
            "members": {"type": "object", "additionalProperties": _FACTS},
        },
    },
    "Member": {
        "type": "object",
        "required": ["dataset", "key", "member", "version", "facts"],
        "properties": {
            "dataset": {"type": "string"},
            "key": {"type": "string"},
            "member": {"type": "string"},
            "version": {"type": "string"},
            "facts": _FACTS,
        },
    },
}


def routes() -> list[tuple[str, str]]:
    """(method, OpenAPI path) of every route registered on the resolver."""
    registered = app._static_routes + app._dynamic_routes  # no public listing
    return sorted((route.method, route.openapi_path) for route in registered)


def openapi_document(title: str = "headwater lookup API", version: str = "1") -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for method, path in routes():
        operation = OPERATIONS[(method, path)]  # KeyError: a route without documentation
        # Every operation states its security: the API key unless it opts out (health).
        paths.setdefault(path, {})[method.lower()] = {"security": [{"api_key": []}], **operation}
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "securitySchemes": {"api_key": {"type": "apiKey", "in": "header", "name": "x-api-key"}},
            "schemas": SCHEMAS,
        },
    }
