"""The records API's OpenAPI shapes and examples, and the per-dataset paths of the document.

The handler has one pair of routes (``/records/{dataset}``, ``/records/{dataset}/{id}``); the
gateway has one static pair per declared dataset, each POST with that dataset's JSON Schema as
its model. ``dataset_paths`` rewrites the generated document the same way: one path per declared
dataset, its request body the dataset's own request schema (``json_schema.request_schema``, the
gateway's model), its examples derived from the declaration and checked against that schema
(tests/unit/records/test_records_openapi.py), so no example can drift from what is enforced.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.event_handler.openapi.models import Example
from pydantic import BaseModel, Field

from headwater.records.declarations import RecordDataset
from headwater.records.json_schema import request_schema

RECORD_ID = "019ad6f2-6c1e-7a3b-9f21-4c8e2d7b5a10"
RECEIVED_AT = "2026-12-01T09:30:12.345Z"
KEY_ID = "k7q2r9s1t3"

PARAMETERS: dict[str, dict[str, Example]] = {
    "dataset": {"orders": Example(summary="the demo dataset", value="orders")},
    "id": {"record": Example(summary="an id a POST answered", value=RECORD_ID)},
    "idempotency_key": {
        "uuid": Example(
            summary="a fresh UUID per logical request", value="6f1c1d0e-2b3a-4c5d-8e9f-0a1b2c3d4e5f"
        )
    },
}


class Error(BaseModel):
    message: str


class FieldErrorModel(BaseModel):
    path: str = Field(description="the field: 'amount' in a record, 'records[3].amount' in a batch")
    rule: str = Field(description="the JSON Schema keyword or limit broken, e.g. maxLength")
    message: str


class InvalidRecords(BaseModel):
    message: str
    # Every error, not only the first; absent when API Gateway's own validator or size limit
    # answered (its message only), empty when the body as a whole is at fault.
    errors: list[FieldErrorModel] = Field(
        default_factory=list, description="every error, not only the first"
    )


class RecordsCreated(BaseModel):
    ids: list[str] = Field(description="one UUIDv7 per record, in the posted order")
    received_at: str = Field(description="RFC 3339, UTC, with Z")


class StoredRecord(BaseModel):
    id: str
    dataset: str
    producer: str = Field(description="the id of the API key that posted it (never its value)")
    received_at: str
    record: dict[str, Any]


ERRORS: dict[int, tuple[str, dict[str, Any]]] = {
    400: (
        "The body is not JSON, or breaks the dataset's schema (every error listed)",
        {
            "message": "2 error(s) in the posted records",
            "errors": [
                {
                    "path": "records[1].amount",
                    "rule": "minimum",
                    "message": "-1 is less than the minimum of 0",
                },
                {
                    "path": "records[1].colour",
                    "rule": "additionalProperties",
                    "message": "unknown field",
                },
            ],
        },
    ),
    403: (
        "Missing or unknown API key, or the key's subscriber is not granted the dataset",
        {"message": "subscriber 'initech' is not granted dataset 'orders'"},
    ),
    404: (
        "Unknown dataset, or no such record for this caller",
        {"message": f"unknown record {RECORD_ID!r}"},
    ),
    409: (
        "A request with the same Idempotency-Key is still in progress",
        {"message": "a request with this Idempotency-Key is in progress; retry shortly"},
    ),
    413: (
        "The body, or records of it, over the size limit",
        {
            "message": "request body of 480000 bytes is over the limit of 475136 bytes",
            "errors": [],
        },
    ),
    422: (
        "The Idempotency-Key was used for a different request",
        {"message": "this Idempotency-Key was used for a different request (dataset or body)"},
    ),
    429: ("Throttled or over quota", {"message": "Too Many Requests"}),
    503: (
        "DynamoDB kept refusing the write; nothing was stored, retry",
        {"message": "the records table is busy; nothing was stored, retry"},
    ),
}
_WITH_ERRORS = {400, 413}


def _content(model: type[BaseModel], name: str, summary: str, value: Any) -> dict[str, Any]:
    return {
        "application/json": {
            "model": model,
            "examples": {name: Example(summary=summary, value=value)},
        }
    }


def _errors(*codes: int) -> dict[int, Any]:
    return {
        code: {
            "description": ERRORS[code][0],
            "content": _content(
                InvalidRecords if code in _WITH_ERRORS else Error,
                "example",
                ERRORS[code][0],
                ERRORS[code][1],
            ),
        }
        for code in codes
    }


def post_responses() -> dict[int, Any]:
    created = {"ids": [RECORD_ID], "received_at": RECEIVED_AT}
    return {
        201: {
            "description": "Stored; the ids in the posted order",
            "content": _content(RecordsCreated, "one", "one record posted", created),
        },
        **_errors(400, 403, 404, 409, 413, 422, 429, 503),
    }


def get_responses() -> dict[int, Any]:
    stored = {
        "id": RECORD_ID,
        "dataset": "orders",
        "producer": KEY_ID,
        "received_at": RECEIVED_AT,
        "record": {"order_id": "A-1001", "amount": 12.5},
    }
    return {
        200: {
            "description": "The record",
            "content": _content(StoredRecord, "order", "an order", stored),
        },
        **_errors(403, 404, 429),
    }


# ---- the document, one path per declared dataset ---------------------------------------------


def example_record(dataset: RecordDataset) -> dict[str, Any] | None:
    """A record every limit of ``dataset`` admits (None when a required field has a pattern:
    no value can be derived for an arbitrary regular expression)."""
    record: dict[str, Any] = {}
    for field in dataset.fields:
        limits = field.limits
        if "pattern" in limits:
            if field.required:
                return None
            continue
        if "enum" in limits:
            value: Any = limits["enum"][0]
        elif field.type == "string":
            length = max(1, limits.get("min_length", 1))
            value = "x" * min(length, limits.get("max_length", length))
        elif field.type in ("int64", "float64"):
            value = 1 if field.type == "int64" else 1.5
            if "minimum" in limits:
                value = max(value, limits["minimum"])
            if "maximum" in limits:
                value = min(value, limits["maximum"])
        elif field.type == "bool":
            value = True
        elif field.type == "date":
            value = "2026-12-01"
        else:  # timestamp
            value = "2026-12-01T09:30:00Z"
        record[field.name] = value
    return record


def dataset_paths(
    document: dict[str, Any], datasets: Mapping[str, RecordDataset]
) -> dict[str, Any]:
    """Replace the generic records paths by one pair per declared dataset."""
    paths = document.get("paths", {})
    post_path = paths.pop("/records/{dataset}", None)
    get_path = paths.pop("/records/{dataset}/{id}", None)
    if post_path is None or get_path is None:
        return document
    for name, dataset in sorted(datasets.items()):
        post = copy.deepcopy(post_path["post"])
        post["operationId"] = f"postRecords_{name}"
        post["summary"] = f"Post one {name} record or a batch of up to 100"
        post["parameters"] = [p for p in post.get("parameters", []) if p["name"] != "dataset"]
        schema = request_schema(dataset)
        schema.pop("$schema")
        body: dict[str, Any] = {"schema": schema}
        record = example_record(dataset)
        if record is not None:
            body["examples"] = {
                "one": {"summary": "one record", "value": record},
                "batch": {"summary": "a batch of two", "value": [record, record]},
            }
        post["requestBody"] = {"required": True, "content": {"application/json": body}}
        get = copy.deepcopy(get_path["get"])
        get["operationId"] = f"getRecord_{name}"
        get["summary"] = f"Read one {name} record back"
        get["parameters"] = [p for p in get.get("parameters", []) if p["name"] != "dataset"]
        paths[f"/records/{name}"] = {"post": post}
        paths[f"/records/{name}/{{id}}"] = {"get": get}
    document["paths"] = dict(sorted(paths.items()))
    return document
