"""Lambda entrypoint of the lookup API (API Gateway REST v1, Lambda proxy) over LookupStore.

Routes: GET /lookups/{dataset}, GET /lookups/{dataset}/{key}, GET /lookups/{dataset}/{key}/{member}
(GET /health is answered by API Gateway itself, a MOCK integration: see
``headwater.handlers.openapi``).
API keys are checked by API Gateway (or the local front) before the function runs; the function
never logs them (the event is not logged, and only the key's id is). What a key may read is the
function's business (``headwater.tenancy``): its subscriber must be granted the dataset (internal
keys read all), else 403, checked before anything about the dataset is read, so the answer does
not tell whether a dataset exists.

Routes are typed (``Annotated`` path and query parameters with their constraints) and the
resolver validates requests against them (``enable_validation``); the same declarations generate
the OpenAPI document (``headwater openapi``). Every error is JSON ``{"message": ...}``: a request
that fails validation is a 400, as API Gateway's own request validator answers, not Powertools'
default 422.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from pydantic import BaseModel, Field

from headwater.handlers import lookup_api_examples as examples
from headwater.handlers.support import api, tenancy
from headwater.handlers.support.settings import env_var, read_settings
from headwater.lookup.store import InvalidCursor, LookupStore, StoreBusy, VersionGone
from headwater.tenancy import require_grant

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100

# The security scheme every key-protected route names; the merged document defines it.
API_KEY_SCHEME = "api_key"
_SECURED: list[dict[str, list[str]]] = [{API_KEY_SCHEME: []}]

app = APIGatewayRestResolver(enable_validation=True)
api.add_common_handlers(app)


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# ---- response shapes (documentation: handlers return plain dicts) ---------------------------


class Error(BaseModel):
    message: str


class KeyPage(BaseModel):
    dataset: str
    version: str
    keys: list[str]
    next_cursor: str | None = Field(description="pass as cursor for the next page; null at the end")


class Partition(BaseModel):
    dataset: str
    key: str
    version: str
    members: dict[str, dict[str, Any]]


class Member(BaseModel):
    dataset: str
    key: str
    member: str
    version: str
    facts: dict[str, Any]


_ERROR_TEXT = {
    400: "Bad parameters",
    403: "Missing or unknown API key, or the key's subscriber is not granted the dataset",
    404: "Unknown dataset, key or member",
    410: "The dataset was replaced since this listing started; restart it without a cursor",
    429: "Throttled or over quota",
    503: "The dataset is being replaced; retry",
}


def _responses(ok: type[BaseModel], ok_examples: dict[str, Any], *errors: int) -> dict[int, Any]:
    """200 with ``ok``; the listed errors plus 403/429 (API Gateway's, on every keyed route) and
    503 (StoreBusy), each a JSON ``{"message": ...}``; every one with an example body."""
    responses: dict[int, Any] = {
        200: {
            "description": "OK",
            "content": {"application/json": {"model": ok, "examples": ok_examples}},
        }
    }
    for code in sorted({*errors, 403, 429, 503}):
        responses[code] = {
            "description": _ERROR_TEXT[code],
            "content": {"application/json": {"model": Error, "examples": examples.error(code)}},
        }
    return responses


_EXAMPLES = examples.PARAMETERS
Dataset = Annotated[
    str,
    Path(
        min_length=1,
        description="Lookup dataset name, e.g. employees",
        openapi_examples=_EXAMPLES["dataset"],
    ),
]
Key = Annotated[
    str,
    Path(
        min_length=1,
        description="Partition key value, e.g. a department",
        openapi_examples=_EXAMPLES["key"],
    ),
]
MemberKey = Annotated[
    str,
    Path(
        min_length=1,
        description="Member key value, e.g. an employee id",
        openapi_examples=_EXAMPLES["member"],
    ),
]
Limit = Annotated[
    int, Query(ge=1, le=MAX_LIMIT, description="page size", openapi_examples=_EXAMPLES["limit"])
]
Cursor = Annotated[
    str | None,
    Query(
        min_length=1,
        description="next_cursor of the previous page (opaque; bound to its dataset and version)",
    ),
]


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


def _granted(dataset: str) -> str:
    """The decoded dataset name, once the caller's subscriber is granted it (else 403)."""
    dataset = _param("dataset", dataset)
    require_grant(tenancy.caller(app.current_event.raw_event), dataset)
    return dataset


def _unknown_dataset(dataset: str) -> ApiError:
    return ApiError(404, f"unknown dataset {dataset!r}")


@app.get(
    "/lookups/<dataset>",
    summary="List the dataset's partition keys, a page at a time",
    operation_id="listKeys",
    description=(
        "A listing stays on one version of the dataset: every page answers with the version of "
        "the first. A cursor is bound to its dataset and version: a cursor of another dataset "
        "(or not a cursor) is a 400; once a newer version is live, the next page is a 410, and "
        "the client restarts the listing without a cursor."
    ),
    responses=_responses(
        KeyPage,
        examples.ok(
            first_page=("the first page (limit=2): more keys follow", examples.KEY_PAGE),
            last_page=(
                "the last page (limit=3, after People): no next_cursor",
                examples.LAST_KEY_PAGE,
            ),
        ),
        *(400, 404, 410),
    ),
    security=_SECURED,
)
def list_keys(dataset: Dataset, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> dict:
    dataset = _granted(dataset)
    try:
        page = store().list_page(dataset, limit=limit, cursor=cursor)
    except InvalidCursor as exc:
        raise ApiError(400, str(exc)) from None
    except VersionGone as exc:
        raise ApiError(410, str(exc)) from None
    if page is None:
        raise _unknown_dataset(dataset)
    return {
        "dataset": dataset,
        "version": page.version,
        "keys": page.keys,
        "next_cursor": page.next_cursor,
    }


@app.get(
    "/lookups/<dataset>/<key>",
    summary="One partition key with its members nested",
    operation_id="getPartition",
    responses=_responses(
        Partition,
        examples.ok(finance=("a department, its employees nested", examples.PARTITION)),
        *(400, 404),
    ),
    security=_SECURED,
)
def get_partition(dataset: Dataset, key: Key) -> dict:
    dataset, key = _granted(dataset), _param("key", key)
    partition = store().get_partition(dataset, key)
    if partition is None:
        raise _missing(dataset, f"unknown key {key!r} in dataset {dataset!r}")
    return partition


@app.get(
    "/lookups/<dataset>/<key>/<member>",
    summary="One member of a partition key",
    operation_id="getMember",
    responses=_responses(
        Member, examples.ok(employee=("one employee", examples.MEMBER_FACTS)), *(400, 404)
    ),
    security=_SECURED,
)
def get_member(dataset: Dataset, key: Key, member: MemberKey) -> dict:
    dataset, key, member = _granted(dataset), _param("key", key), _param("member", member)
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
    return api.json_response(exc.status, {"message": exc.message})


@app.exception_handler(StoreBusy)
def _busy(exc: StoreBusy) -> Response:
    return api.json_response(503, {"message": "the dataset is being replaced; retry shortly"})


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return api.serve(app, event, context)
