"""Lambda entrypoint of the collect API (API Gateway REST v1, Lambda proxy): schedules and
connections of the caller's subscriber. Thin over ``headwater.collect``.

Schedules (``schedule_store``: EventBridge Scheduler is the source of truth):

- ``POST /schedules``: 201 + ``Location: schedules/<name>`` and the schedule; 400 with every
  error; 409 for a name the subscriber already uses, and for a subscriber at its limit
  (``COLLECT_MAX_SCHEDULES``: the same request succeeds after a delete, so a conflict with its
  current state, not a malformed body);
- ``GET /schedules?limit=&next=``: ``{"schedules": [...], "next": token | null}``, by name;
- ``GET|PATCH|DELETE /schedules/{name}``: another subscriber's schedule is a 404 worded like a
  missing one. DELETE is 204 once the schedule is gone from the Scheduler, even when deleting
  its checkpoint afterwards fails (logged as a warning: the checkpoint's schedule_id is never
  reused, so it is never read);
- ``POST /schedules/{name}/run``: invokes the collector asynchronously (InvocationType Event)
  with the schedule's input, ``scheduled_time`` now and ``"trigger": "api"``; 202.

A schedule's ``connection`` must be one of the caller's connections: a missing one and another
subscriber's are the same 400 (``connection``/``exists``), part of the body's errors, so the
answer tells nothing about other subscribers' names.

Connections (``connections``: Secrets Manager, write-only): ``POST /connections`` (201; 409 if
it exists), ``GET /connections`` (names, sources, dates: never tokens), ``PUT
/connections/{name}`` (a new token, 200), ``DELETE /connections/{name}`` (204; 409 while
schedules name it, since their runs would fail: ``?force=true`` deletes it anyway). No response and
no log line carries a token: the request line logs method, resource and key id only.

What the function calls, for its role (modules/collect scopes each to its resource): scheduler
Create/Get/Update/DeleteSchedule on ``schedule/<group>/c-*`` and ListSchedules, iam:PassRole of
COLLECT_SCHEDULE_ROLE_ARN to scheduler.amazonaws.com, lambda:InvokeFunction on the collector,
dynamodb:GetItem on the tenancy table and DeleteItem on the state table, secretsmanager
CreateSecret/DescribeSecret/PutSecretValue/DeleteSecret/TagResource on ``secret:<prefix>*`` and
ListSecrets, kms:GenerateDataKey on COLLECT_KMS_KEY_ARN (never GetSecretValue: the API does not
read tokens).
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote, unquote

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from headwater import aws
from headwater.collect import connections as conn
from headwater.collect import schedule_store, schedules
from headwater.collect.connectors.base import ParamError
from headwater.handlers import collect_api_examples as examples
from headwater.handlers.support import api, tenancy
from headwater.handlers.support.settings import env_var, read_settings

API_KEY_SCHEME = "api_key"
_SECURED: list[dict[str, list[str]]] = [{API_KEY_SCHEME: []}]
MAX_LIMIT, DEFAULT_LIMIT = 100, 25

# Routes return a Response without a return annotation: with validation on, Powertools would
# try to build a pydantic model of an annotated ``Response``; bodies are documented per route.
app = APIGatewayRestResolver(enable_validation=True)
api.add_common_handlers(app)


@dataclass(frozen=True)
class Settings:
    group: str = env_var("COLLECT_SCHEDULE_GROUP")
    collector_arn: str = env_var("COLLECT_COLLECTOR_ARN")
    role_arn: str = env_var("COLLECT_SCHEDULE_ROLE_ARN")
    dlq_arn: str = env_var("COLLECT_SCHEDULE_DLQ_ARN")
    secret_prefix: str = env_var("COLLECT_SECRET_PREFIX")
    kms_key_arn: str = env_var("COLLECT_KMS_KEY_ARN")
    state_table: str = env_var("COLLECT_STATE_TABLE")
    retry_attempts: str = env_var("COLLECT_RETRY_ATTEMPTS", "3", empty_is_unset=True)
    retry_max_age: str = env_var("COLLECT_RETRY_MAX_AGE_SECONDS", "86400", empty_is_unset=True)
    min_interval: str = env_var("COLLECT_MIN_INTERVAL_MINUTES", "60", empty_is_unset=True)
    max_schedules: str = env_var("COLLECT_MAX_SCHEDULES", "25", empty_is_unset=True)


class ApiError(Exception):
    def __init__(self, status: int, message: str, errors: list[ParamError] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors


def settings() -> Settings:
    return read_settings(Settings)


@functools.cache
def _schedule_store(config: Settings) -> schedule_store.ScheduleStore:
    target = schedule_store.Target(
        collector_arn=config.collector_arn,
        role_arn=config.role_arn,
        dlq_arn=config.dlq_arn,
        retry_attempts=int(config.retry_attempts),
        max_age_seconds=int(config.retry_max_age),
    )
    return schedule_store.ScheduleStore(
        aws.client("scheduler"),
        aws.client("dynamodb"),
        group=config.group,
        target=target,
        state_table=config.state_table,
        max_schedules=int(config.max_schedules),
    )


@functools.cache
def _connection_store(config: Settings) -> conn.ConnectionStore:
    return conn.ConnectionStore(
        aws.client("secretsmanager"), prefix=config.secret_prefix, kms_key_id=config.kms_key_arn
    )


def store() -> schedule_store.ScheduleStore:
    return _schedule_store(settings())


def connection_store() -> conn.ConnectionStore:
    return _connection_store(settings())


def now() -> datetime:
    return datetime.now(UTC)


def rules() -> schedules.Rules:
    return schedules.Rules(min_interval=timedelta(minutes=int(settings().min_interval)), now=now())


def reset() -> None:
    """Forget clients (tests that switch AWS mocks call this)."""
    _schedule_store.cache_clear()
    _connection_store.cache_clear()


_EXAMPLES = examples.PARAMETERS
Name = Annotated[
    str, Path(min_length=1, description="The schedule's name", openapi_examples=_EXAMPLES["name"])
]
ConnectionName = Annotated[
    str,
    Path(
        min_length=1, description="The connection's name", openapi_examples=_EXAMPLES["connection"]
    ),
]
Limit = Annotated[
    int,
    Query(
        ge=1, le=MAX_LIMIT, description="page size, 1 to 100", openapi_examples=_EXAMPLES["limit"]
    ),
]
Force = Annotated[
    bool,
    Query(
        description="delete even while schedules name the connection (their runs then fail until "
        "they get another one)",
        openapi_examples=_EXAMPLES["force"],
    ),
]
Next = Annotated[
    str | None,
    Query(
        alias="next",
        min_length=1,
        description="the `next` of the previous page (opaque)",
        openapi_examples=_EXAMPLES["next"],
    ),
]


def _param(name: str, matched: str) -> str:
    # API Gateway decodes pathParameters; the resolver matches the raw path. Prefer the former.
    decoded = (app.current_event.path_parameters or {}).get(name)
    return decoded if decoded is not None else unquote(matched)


def _subscriber() -> str:
    return tenancy.caller(app.current_event.raw_event).subscriber


def _body() -> Any:
    event = app.current_event.raw_event
    raw = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(raw, validate=True).decode()
        except (binascii.Error, ValueError):
            raise ApiError(400, "the body is not valid base64") from None
    try:
        return json.loads(raw, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, f"the body is not valid JSON: {exc}") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _unknown_schedule() -> ApiError:
    return ApiError(404, "unknown schedule")


def _check_connection(subscriber: str, schedule: schedules.Schedule) -> None:
    """400 unless the schedule's connection is one of the subscriber's (another's is answered
    like a missing one) and holds a token for the schedule's source."""
    if schedule.connection is None:
        return
    found = connection_store().get(subscriber, schedule.connection)
    if found is None:
        error = ParamError("connection", "exists", f"unknown connection {schedule.connection!r}")
    elif found.source != schedule.source:
        error = ParamError(
            "connection",
            "source",
            f"connection {schedule.connection!r} holds a token for {found.source!r}, "
            f"not {schedule.source!r}",
        )
    else:
        return
    raise schedules.InvalidSchedule([error])


# ---- schedules -------------------------------------------------------------------------------


@app.post(
    "/schedules",
    summary="Create a collection schedule",
    operation_id="createSchedule",
    description=(
        "Validated before anything is created: expression (rate, AWS cron, at) and the minimum "
        "interval, IANA time zone, at() in the future, start/end, the connector's params, the "
        "connection (one of the caller's). 400 lists every error. 409 when the name is taken, "
        "or when the subscriber already has COLLECT_MAX_SCHEDULES schedules (delete one first)."
    ),
    responses=examples.responses(
        201, "Created", examples.ScheduleModel, examples.SCHEDULE, 400, 409
    ),
    security=_SECURED,
)
def create_schedule():
    subscriber = _subscriber()
    schedule = schedules.parse_create(_body(), rules())
    _check_connection(subscriber, schedule)
    stored = store().create(subscriber, schedule)
    location = f"schedules/{quote(schedule.name, safe='')}"
    return api.json_response(201, stored.as_dict(), {"Location": location})


@app.get(
    "/schedules",
    summary="List the caller's schedules, a page at a time, by name",
    operation_id="listSchedules",
    description="Only the caller's subscriber's schedules (every key of it sees the same).",
    responses=examples.responses(
        200,
        "A page of schedules",
        examples.SchedulePage,
        {"schedules": [examples.SCHEDULE], "next": None},
        400,
    ),
    security=_SECURED,
)
def list_schedules(limit: Limit = DEFAULT_LIMIT, next_token: Next = None):
    found, following = store().list(_subscriber(), limit, next_token)
    return api.json_response(200, {"schedules": [s.as_dict() for s in found], "next": following})


@app.get(
    "/schedules/<name>",
    summary="Read one schedule",
    operation_id="getSchedule",
    responses=examples.responses(
        200, "The schedule", examples.ScheduleModel, examples.SCHEDULE, 404
    ),
    security=_SECURED,
)
def get_schedule(name: Name):
    stored = store().get(_subscriber(), _param("name", name))
    if stored is None:
        raise _unknown_schedule()
    return api.json_response(200, stored.as_dict())


@app.patch(
    "/schedules/<name>",
    summary="Change a schedule's expression, time zone, start/end, params, connection, state",
    operation_id="updateSchedule",
    description=(
        "Only the fields given change (null clears start, end, connection; params are replaced "
        "as a whole); the result is validated like a new schedule. name, source and account "
        "cannot change; other fields are unknown (400)."
    ),
    responses=examples.responses(
        200, "The changed schedule", examples.ScheduleModel, examples.SCHEDULE, 400, 404
    ),
    security=_SECURED,
)
def update_schedule(name: Name):
    subscriber = _subscriber()
    body = _body()
    limits = rules()

    def change(current: schedules.Schedule) -> schedules.Schedule:
        updated = schedules.apply_patch(current, body, limits)
        if updated.connection != current.connection:
            _check_connection(subscriber, updated)
        return updated

    stored = store().update(subscriber, _param("name", name), change)
    if stored is None:
        raise _unknown_schedule()
    return api.json_response(200, stored.as_dict())


@app.delete(
    "/schedules/<name>",
    summary="Delete a schedule (and its checkpoint)",
    operation_id="deleteSchedule",
    responses=examples.responses(204, "Deleted", None, None, 404),
    security=_SECURED,
)
def delete_schedule(name: Name):
    deleted = store().delete(_subscriber(), _param("name", name))
    if deleted is None:
        raise _unknown_schedule()
    if deleted.checkpoint_error is not None:
        # The schedule is gone (the source of truth): the answer is the delete's. The leftover
        # checkpoint is keyed by a schedule_id nothing will use again.
        api.logger().warning(
            "schedule deleted; its checkpoint was not",
            extra={"schedule_id": deleted.stored.schedule_id, "error": deleted.checkpoint_error},
        )
    return Response(status_code=204, body=None)


@app.post(
    "/schedules/<name>/run",
    summary="Run a schedule now, asynchronously",
    operation_id="runSchedule",
    description="Invokes the collector once (InvocationType Event); the schedule is unchanged.",
    responses=examples.responses(
        202,
        "Accepted",
        examples.RunAccepted,
        {"schedule": "daily", "scheduled_time": examples.CREATED},
        404,
    ),
    security=_SECURED,
)
def run_schedule(name: Name):
    stored = store().get(_subscriber(), _param("name", name))
    if stored is None:
        raise _unknown_schedule()
    scheduled_time = schedules.rfc3339(now())
    payload = {**stored.input(), "scheduled_time": scheduled_time, "trigger": "api"}
    aws.client("lambda").invoke(
        FunctionName=settings().collector_arn,
        InvocationType="Event",
        Payload=json.dumps(payload).encode(),
    )
    return api.json_response(
        202, {"schedule": stored.schedule.name, "scheduled_time": scheduled_time}
    )


# ---- connections -----------------------------------------------------------------------------


@app.post(
    "/connections",
    summary="Store a source token as a connection (write-only)",
    operation_id="createConnection",
    description="The token is stored in Secrets Manager and never returned. 409 if it exists.",
    responses=examples.responses(
        201, "Created", examples.ConnectionModel, examples.CONNECTION, 400, 409
    ),
    security=_SECURED,
)
def create_connection():
    subscriber = _subscriber()
    name, source, token = conn.parse_create(_body())
    created = connection_store().create(subscriber, name, source, token)
    location = f"connections/{quote(name, safe='')}"
    return api.json_response(201, created.as_dict(), {"Location": location})


@app.get(
    "/connections",
    summary="List the caller's connections (never their tokens)",
    operation_id="listConnections",
    responses=examples.responses(
        200, "The connections", examples.ConnectionList, {"connections": [examples.CONNECTION]}
    ),
    security=_SECURED,
)
def list_connections():
    found = connection_store().list(_subscriber())
    return api.json_response(200, {"connections": [c.as_dict() for c in found]})


@app.put(
    "/connections/<name>",
    summary="Replace a connection's token",
    operation_id="replaceConnectionToken",
    responses=examples.responses(
        200, "Replaced", examples.ConnectionModel, examples.CONNECTION, 400, 404
    ),
    security=_SECURED,
)
def replace_connection(name: ConnectionName):
    subscriber = _subscriber()
    token = conn.parse_replace(_body())
    replaced = connection_store().replace(subscriber, _param("name", name), token)
    if replaced is None:
        raise ApiError(404, "unknown connection")
    return api.json_response(200, replaced.as_dict())


@app.delete(
    "/connections/<name>",
    summary="Delete a connection (its token at once, no recovery window)",
    operation_id="deleteConnection",
    description="409 while schedules name it (the message lists them); `force=true` deletes it "
    "anyway.",
    responses=examples.responses(204, "Deleted", None, None, 400, 404, 409),
    security=_SECURED,
)
def delete_connection(name: ConnectionName, force: Force = False):
    subscriber, name = _subscriber(), _param("name", name)
    connections = connection_store()
    if not force:
        # Checked first, so a missing connection is a 404 whoever's schedules name it.
        if not connections.exists(subscriber, name):
            raise ApiError(404, "unknown connection")
        users = store().using(subscriber, name)
        if users:
            raise ApiError(
                409,
                f"connection {name!r} is used by schedule(s) {', '.join(users)}: give them "
                "another connection or delete them first (or delete with ?force=true)",
            )
    if not connections.delete(subscriber, name):
        raise ApiError(404, "unknown connection")
    return Response(status_code=204, body=None)


# ---- errors ----------------------------------------------------------------------------------


def _invalid(message: str, errors: list[ParamError]):
    return api.json_response(400, {"message": message, "errors": [e.as_dict() for e in errors]})


@app.exception_handler(ApiError)
def _api_error(exc: ApiError):
    body: dict[str, Any] = {"message": exc.message}
    if exc.errors is not None:
        body["errors"] = [e.as_dict() for e in exc.errors]
    return api.json_response(exc.status, body)


@app.exception_handler(schedules.InvalidSchedule)
def _invalid_schedule(exc: schedules.InvalidSchedule):
    return _invalid(exc.message, exc.errors)


@app.exception_handler(conn.InvalidConnection)
def _invalid_connection(exc: conn.InvalidConnection):
    return _invalid(exc.message, exc.errors)


@app.exception_handler(schedule_store.Duplicate)
def _duplicate(exc: schedule_store.Duplicate):
    return api.json_response(409, {"message": str(exc)})


@app.exception_handler(schedule_store.LimitReached)
def _limit(exc: schedule_store.LimitReached):
    return api.json_response(409, {"message": str(exc)})


@app.exception_handler(conn.Exists)
def _exists(exc: conn.Exists):
    return api.json_response(409, {"message": str(exc)})


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return api.serve(app, event, context)
