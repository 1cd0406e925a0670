"""Lambda entrypoint of the records API (API Gateway REST v1, Lambda proxy).

Routes (static per declared dataset at the gateway; one pair of Powertools routes here):

- ``POST /records/{dataset}``: one record (an object) or a batch (an array of 1 to 100). 201
  ``{"ids": [...], "received_at": "...Z"}``: always a list of ids, in the posted order, for one
  record too (one shape for clients); a single record also gets ``Location: <dataset>/<id>``
  (relative to the request's URL: the stage prefix stays whatever it is). 400 ``{"message",
  "errors": [{"path", "rule", "message"}]}`` with every error; 413 with the records over the size
  limit, or for a body over ``validation.request_limit``.
- ``GET /records/{dataset}/{id}``: 200 ``{"id", "dataset", "producer", "received_at",
  "record"}``; 404 for a missing record, someone else's record and a string that is not a record
  id alike (ids are never guessed, so a malformed one is just another id no record has).

The gateway validates the body against the same schema before the function runs (its model);
the function validates again because the local front, tests and any route without a validator
must not be able to bypass it, and only the function reports every error with its path.

``Idempotency-Key`` (optional, 1 to 255 visible ASCII characters): Powertools' idempotency
utility with its DynamoDB persistence layer (``IDEMPOTENCY_TABLE``). The key is scoped per
subscriber (hashed with it), so two subscribers never collide; the payload checked is the dataset
and the parsed body, so the same key with another body is a 422. A retry within
``IDEMPOTENCY_TTL_SECONDS`` (24 h) of a 201 gets that 201 again (with ``Idempotent-Replayed:
true``) and writes nothing; a retry while the first is still running gets 409. Only a 201 is
remembered: validation runs before the idempotent part, and Powertools deletes its in-progress
record when the write raises (503 StoreUnavailable included), so the client may retry with the
same key. A request without the header is not deduplicated.
"""

from __future__ import annotations

import base64
import binascii
import functools
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Header, Path
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)

from headwater import aws
from headwater.handlers import records_api_examples as examples
from headwater.handlers.support import api, tenancy
from headwater.handlers.support.settings import env_var, read_settings
from headwater.records import service, validation
from headwater.records.declarations import RecordDataset, load_record_datasets
from headwater.records.store import RecordStore, StoreUnavailable
from headwater.tenancy import Caller

API_KEY_SCHEME = "api_key"
_SECURED: list[dict[str, list[str]]] = [{API_KEY_SCHEME: []}]
IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60
IDEMPOTENCY_KEY_PATTERN = r"^[!-~]{1,255}$"
REPLAYED_HEADER = "Idempotent-Replayed"
_REPLAYED = "__replayed__"

app = APIGatewayRestResolver(enable_validation=True)
api.add_common_handlers(app)


@dataclass(frozen=True)
class Settings:
    table: str = env_var("RECORDS_TABLE")
    idempotency_table: str = env_var("IDEMPOTENCY_TABLE")


class ApiError(Exception):
    def __init__(self, status: int, message: str, errors: list[dict[str, str]] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors


@functools.cache
def _store(table: str) -> RecordStore:
    return RecordStore(aws.client("dynamodb"), table)


@functools.cache
def _persistence(table: str) -> DynamoDBPersistenceLayer:
    return DynamoDBPersistenceLayer(table_name=table, boto3_client=aws.client("dynamodb"))


def store() -> RecordStore:
    return _store(read_settings(Settings).table)


@functools.cache
def datasets() -> dict[str, RecordDataset]:
    """The declared datasets (packaged, or ``RECORDS_DIR``), read once per process."""
    return load_record_datasets()


def reset() -> None:
    """Forget clients and declarations (tests that switch AWS mocks or RECORDS_DIR call this)."""
    _store.cache_clear()
    _persistence.cache_clear()
    datasets.cache_clear()


_EXAMPLES = examples.PARAMETERS
Dataset = Annotated[
    str,
    Path(
        min_length=1,
        description="Record dataset name, e.g. orders",
        openapi_examples=_EXAMPLES["dataset"],
    ),
]
RecordId = Annotated[
    str,
    Path(
        min_length=1,
        description="A record id as POST answered it (a UUIDv7); any other string is a 404",
        openapi_examples=_EXAMPLES["id"],
    ),
]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        pattern=IDEMPOTENCY_KEY_PATTERN,
        description=(
            "Makes a retried POST safe: the same key (per subscriber) within 24 hours returns "
            "the first 201 and writes nothing again; 409 while the first is in progress, 422 "
            "with a different body. 1 to 255 visible ASCII characters, e.g. a UUID."
        ),
        openapi_examples=_EXAMPLES["idempotency_key"],
    ),
]


def _param(name: str, matched: str) -> str:
    # API Gateway decodes pathParameters; the resolver matches the raw path. Prefer the former.
    decoded = (app.current_event.path_parameters or {}).get(name)
    return decoded if decoded is not None else unquote(matched)


def _caller() -> Caller:
    return tenancy.caller(app.current_event.raw_event)


def _raw_body() -> bytes:
    event = app.current_event.raw_event
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise ApiError(400, "the body is not valid base64") from None
    return body.encode()


@app.post(
    "/records/<dataset>",
    summary="Post one record or a batch of up to 100",
    operation_id="postRecords",
    description=(
        "The body is one record (a JSON object) or a batch (an array of 1 to 100 records), "
        "validated against the dataset's JSON Schema (unknown fields are refused). 201 answers "
        "the ids in the posted order (a list for one record too) and when they were received."
    ),
    responses=examples.post_responses(),
    security=_SECURED,
)
def post_records(dataset: Dataset, idempotency_key: IdempotencyKey = None) -> Response[dict]:
    caller = _caller()
    declared = service.dataset_for(datasets(), _param("dataset", dataset), caller)
    try:
        records = validation.records_of(declared, validation.parse_body(declared, _raw_body()))
    except validation.InvalidBody as exc:
        raise ApiError(400, exc.message, [e.as_dict() for e in exc.errors]) from None
    except validation.TooLarge as exc:
        raise ApiError(413, exc.message, [e.as_dict() for e in exc.errors]) from None
    if idempotency_key is None:
        answer = _write(dataset=declared, records=records, caller=caller, request={})
    else:
        answer = _write_idempotently(declared, records, caller, idempotency_key)
    headers = {}
    if answer.pop(_REPLAYED, False):
        headers[REPLAYED_HEADER] = "true"
    if len(answer["ids"]) == 1:
        headers["Location"] = f"{declared.dataset}/{answer['ids'][0]}"
    # A dict body: Powertools validates it against the annotation, then serializes it.
    return Response(
        status_code=201, content_type=content_types.APPLICATION_JSON, body=answer, headers=headers
    )


def _write(
    *, dataset: RecordDataset, records: list[dict[str, Any]], caller: Caller, request: dict
) -> dict[str, Any]:
    # ``request`` is what idempotency hashes (see _write_idempotently); the write ignores it.
    return service.post(store(), dataset, records, caller)


def _write_idempotently(
    dataset: RecordDataset, records: list[dict[str, Any]], caller: Caller, key: str
) -> dict[str, Any]:
    config = IdempotencyConfig(
        # The key is the subscriber's: another subscriber's identical key is another request.
        event_key_jmespath="[subscriber, key]",
        # Same key, other dataset or body: a different request reusing a key (422).
        payload_validation_jmespath="[dataset, body]",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=IDEMPOTENCY_TTL_SECONDS,
        response_hook=lambda response, _record: {**response, _REPLAYED: True},
    )
    if app.lambda_context is not None:
        # Lets Powertools expire an in-progress record when this invocation times out, so a
        # retry after a crash is not a 409 for 24 hours.
        config.register_lambda_context(app.lambda_context)
    write = idempotent_function(
        data_keyword_argument="request",
        persistence_store=_persistence(read_settings(Settings).idempotency_table),
        config=config,
    )(_write)
    request = {
        "subscriber": caller.subscriber,
        "key": key,
        "dataset": dataset.dataset,
        "body": records,
    }
    try:
        return write(dataset=dataset, records=records, caller=caller, request=request)
    except IdempotencyAlreadyInProgressError:
        raise ApiError(
            409, "a request with this Idempotency-Key is in progress; retry shortly"
        ) from None
    except IdempotencyValidationError:
        raise ApiError(
            422, "this Idempotency-Key was used for a different request (dataset or body)"
        ) from None


@app.get(
    "/records/<dataset>/<id>",
    summary="Read one record back",
    operation_id="getRecord",
    description=(
        "The record as posted, with its id, its producer (the id of the API key that posted it) "
        "and when it was received. Readable by the subscriber that posted it and by internal "
        "keys; any other caller gets the 404 of a missing record."
    ),
    responses=examples.get_responses(),
    security=_SECURED,
)
def get_record(dataset: Dataset, id: RecordId) -> dict:  # the gateway names it {id}
    return service.get(
        store(),
        datasets(),
        _param("dataset", dataset),
        _param("id", id),
        _caller(),
    )


@app.exception_handler(ApiError)
def _api_error(exc: ApiError) -> Response:
    body: dict[str, Any] = {"message": exc.message}
    if exc.errors is not None:
        body["errors"] = exc.errors
    return api.json_response(exc.status, body)


@app.exception_handler(StoreUnavailable)
def _unavailable(exc: StoreUnavailable) -> Response:
    return api.json_response(
        503, {"message": "the records table is busy; nothing was stored, retry"}
    )


@app.exception_handler(IdempotencyPersistenceLayerError)
def _idempotency_unavailable(exc: IdempotencyPersistenceLayerError) -> Response:
    return api.json_response(
        503, {"message": "the idempotency store is unavailable; nothing was stored, retry"}
    )


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return api.serve(app, event, context)
