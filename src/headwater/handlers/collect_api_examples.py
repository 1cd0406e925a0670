"""The collect API's OpenAPI shapes, examples and request bodies.

The handler parses bodies itself (every error at once, as ``{path, rule, message}``), so the
routes declare no body model for Powertools to validate first; ``collect_paths`` adds each
route's request body schema and examples to the generated document instead. The schemas are
written from the domain's own constants (patterns, limits, connector names), so they cannot
drift from what the function enforces; tests/unit/collect/test_collect_api.py posts the
examples to the handler.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.openapi.models import Example
from pydantic import BaseModel, Field

from headwater.collect import connections, schedules
from headwater.collect.connectors import registry

CREATED = "2026-12-02T06:00:00Z"

SCHEDULE = {
    "name": "daily",
    "source": "synthetic",
    "account": "act_1234567890",
    "connection": None,
    "expression": "cron(0 6 * * ? *)",
    "time_zone": "Europe/Berlin",
    "start": None,
    "end": None,
    "params": {"campaigns": 3},
    "enabled": True,
    "created": CREATED,
    "updated": CREATED,
}
CREATE_BODY = {
    "name": "daily",
    "source": "synthetic",
    "account": "act_1234567890",
    "expression": "cron(0 6 * * ? *)",
    "time_zone": "Europe/Berlin",
    "params": {"campaigns": 3},
}
PATCH_BODY = {"expression": "rate(12 hours)", "enabled": False}
CONNECTION_BODY = {"name": "meta-main", "source": "synthetic", "token": "EAAB...redacted"}
CONNECTION = {"name": "meta-main", "source": "synthetic", "created": CREATED, "updated": CREATED}

PARAMETERS: dict[str, dict[str, Example]] = {
    "name": {"daily": Example(summary="a schedule name", value="daily")},
    "connection": {"main": Example(summary="a connection name", value="meta-main")},
    "limit": {"ten": Example(summary="ten schedules a page", value=10)},
    "next": {"page": Example(summary="the `next` a previous page answered", value="daily")},
    "force": {"yes": Example(summary="delete although schedules name it", value=True)},
}


class Error(BaseModel):
    message: str


class CollectFieldError(BaseModel):
    path: str = Field(description="the field, e.g. 'expression' or 'params.campaigns'")
    rule: str = Field(description="the rule broken, e.g. minInterval, pattern, required")
    message: str


class Invalid(BaseModel):
    message: str
    errors: list[CollectFieldError] = Field(
        default_factory=list, description="every error, not only the first"
    )


class ScheduleModel(BaseModel):
    name: str
    source: str
    account: str
    connection: str | None
    expression: str
    time_zone: str
    start: str | None
    end: str | None
    params: dict[str, Any]
    enabled: bool
    created: str | None = Field(description="RFC 3339 UTC, from the Scheduler")
    updated: str | None


class SchedulePage(BaseModel):
    schedules: list[ScheduleModel]
    next: str | None = Field(description="pass as ?next= for the following page; null at the end")


class RunAccepted(BaseModel):
    schedule: str
    scheduled_time: str = Field(description="when the run was asked for, RFC 3339 UTC")


class ConnectionModel(BaseModel):
    name: str
    source: str | None
    created: str | None
    updated: str | None


class ConnectionList(BaseModel):
    connections: list[ConnectionModel]


ERRORS: dict[int, tuple[str, dict[str, Any]]] = {
    400: (
        "The body is not JSON or breaks the rules (every error listed), or a query parameter "
        "is invalid",
        {
            "message": "2 error(s) in the schedule",
            "errors": [
                {
                    "path": "expression",
                    "rule": "minInterval",
                    "message": (
                        "fires every 1 minute(s) at the shortest; the minimum is 60 minute(s)"
                    ),
                },
                {
                    "path": "params.campaigns",
                    "rule": "minimum",
                    "message": "0 is less than the minimum of 1",
                },
            ],
        },
    ),
    403: ("Missing or unknown API key", {"message": "the request carries no API key"}),
    404: ("No such schedule or connection for this caller", {"message": "unknown schedule"}),
    409: (
        "The name is taken, the subscriber is at its schedule limit (COLLECT_MAX_SCHEDULES), "
        "or schedules still name the connection to delete",
        {"message": "a schedule named 'daily' exists"},
    ),
    429: ("Throttled or over quota", {"message": "Too Many Requests"}),
    503: (
        "A service the API depends on (Scheduler, Secrets Manager, DynamoDB, Lambda) is busy: "
        "retry after the Retry-After seconds",
        {"message": "a service the API depends on is busy; retry shortly"},
    ),
}
_WITH_ERRORS = {400}


def _content(model: type[BaseModel], summary: str, value: Any) -> dict[str, Any]:
    return {
        "application/json": {
            "model": model,
            "examples": {"example": Example(summary=summary, value=value)},
        }
    }


def _errors(*codes: int) -> dict[int, Any]:
    return {
        code: {
            "description": ERRORS[code][0],
            "content": _content(
                Invalid if code in _WITH_ERRORS else Error, ERRORS[code][0], ERRORS[code][1]
            ),
        }
        for code in codes
    }


def responses(status: int, description: str, model: Any, value: Any, *errors: int) -> dict:
    ok: dict[str, Any] = {"description": description}
    if model is not None:
        ok["content"] = _content(model, description, value)
    return {status: ok, **_errors(*errors, 403, 429, 503)}


# ---- request bodies (added to the document by ``request_bodies``) ----------------------------


def _schedule_properties() -> dict[str, Any]:
    moment = {"type": ["string", "null"], "format": "date-time"}
    return {
        "name": {"type": "string", "pattern": schedules.NAME_PATTERN},
        "source": {"type": "string", "enum": registry.names()},
        "account": {"type": "string", "minLength": 1, "maxLength": schedules.MAX_ACCOUNT},
        "expression": {
            "type": "string",
            "description": "rate(value unit), cron(6 AWS fields) or at(yyyy-mm-ddThh:mm:ss); "
            "fires at most once per COLLECT_MIN_INTERVAL_MINUTES",
        },
        "time_zone": {"type": "string", "default": schedules.DEFAULT_TIME_ZONE},
        "start": moment,
        "end": moment,
        "params": {"type": "object", "description": "checked against the connector's schema"},
        "connection": {
            "type": ["string", "null"],
            "pattern": schedules.CONNECTION_PATTERN,
            "description": "one of the caller's connections; required iff the connector needs "
            "one. Another subscriber's connection is answered like a missing one (400)",
        },
        "enabled": {"type": "boolean", "default": True},
    }


def _body(schema: dict[str, Any], value: Any) -> dict[str, Any]:
    return {
        "required": True,
        "content": {
            "application/json": {
                "schema": schema,
                "examples": {"example": {"summary": "a typical body", "value": value}},
            }
        },
    }


def collect_paths(document: dict[str, Any]) -> dict[str, Any]:
    """Add the request bodies of the collect routes that take one; drop the empty content
    Powertools declares for a 204 (No Content has no body to describe)."""
    properties = _schedule_properties()
    patchable = {k: v for k, v in properties.items() if k in schedules.PATCHABLE}
    token = {"type": "string", "minLength": 1, "maxLength": connections.MAX_TOKEN}
    bodies = {
        ("/schedules", "post"): _body(
            {
                "type": "object",
                "required": list(schedules.REQUIRED),
                "properties": properties,
                "additionalProperties": False,
            },
            CREATE_BODY,
        ),
        ("/schedules/{name}", "patch"): _body(
            {"type": "object", "properties": patchable, "additionalProperties": False},
            PATCH_BODY,
        ),
        ("/connections", "post"): _body(
            {
                "type": "object",
                "required": ["name", "source", "token"],
                "properties": {
                    "name": {"type": "string", "pattern": connections.NAME_PATTERN},
                    "source": {"type": "string", "enum": registry.names()},
                    "token": token,
                },
                "additionalProperties": False,
            },
            CONNECTION_BODY,
        ),
        ("/connections/{name}", "put"): _body(
            {
                "type": "object",
                "required": ["token"],
                "properties": {"token": token},
                "additionalProperties": False,
            },
            {"token": "EAAB...new"},
        ),
    }
    paths = document.get("paths", {})
    for (path, method), body in bodies.items():
        if method in paths.get(path, {}):
            paths[path][method]["requestBody"] = body
    for path in ("/schedules/{name}", "/connections/{name}"):
        deleted = paths.get(path, {}).get("delete", {}).get("responses", {}).get("204", {})
        if deleted.get("content") == {"application/json": {}}:
            del deleted["content"]
    return document
