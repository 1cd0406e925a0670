"""Request body validation as API Gateway's request validators do it (REST APIs).

A method whose validator has ``validateRequestBody`` checks the body against the model its
``requestModels`` names for the request's content type: "If no matching content type is found,
request validation is not performed. To use the same model regardless of the content type, set
the content type for your data model to $default." (API Gateway developer guide, request
validation). A request without a Content-Type is taken as ``application/json``, API Gateway's
default. A failure is the BAD_REQUEST_BODY gateway response: 400 ``{"message": "Invalid request
body"}``; a body that is not JSON at all fails the same way. Parameters are checked first
(front.py), so a request failing both gets the parameters' message.

Models are JSON Schema draft 4. Compiled validators are cached by (API, model, schema text): a
model updated in the emulator is a new schema text, so the next snapshot compiles it afresh.
"""

from __future__ import annotations

import json
import logging
from functools import lru_cache

from jsonschema import Draft4Validator
from jsonschema.exceptions import SchemaError

from headwater.local.apigateway.events import IncomingRequest
from headwater.local.apigateway.model import Method, RestApi

log = logging.getLogger(__name__)

INVALID_BODY = "Invalid request body"
DEFAULT_CONTENT_TYPE = "application/json"
ANY_CONTENT_TYPE = "$default"


@lru_cache(maxsize=256)
def compiled(api_id: str, model: str, schema: str) -> Draft4Validator | None:
    """The validator of one model version; None when API Gateway would not have stored it."""
    try:
        document = json.loads(schema)
        Draft4Validator.check_schema(document)
    except (ValueError, SchemaError) as exc:
        log.warning("model %s of API %s is not a draft-4 JSON Schema: %s", model, api_id, exc)
        return None
    return Draft4Validator(document)


def _content_type(request: IncomingRequest) -> str:
    header = request.header("content-type")
    if not header:
        return DEFAULT_CONTENT_TYPE
    return header.split(";", 1)[0].strip().lower()


def model_for(method: Method, request: IncomingRequest) -> str | None:
    """The model the method applies to this request, or None (no body validation)."""
    if not method.validate_body or not method.request_models:
        return None
    models = {content_type.lower(): name for content_type, name in method.request_models}
    return models.get(_content_type(request)) or models.get(ANY_CONTENT_TYPE.lower())


def body_error(api: RestApi, method: Method, request: IncomingRequest) -> str | None:
    """The gateway's message when the body fails the method's model, None when it passes."""
    name = model_for(method, request)
    if name is None:
        return None
    schema = api.models.get(name)
    if schema is None:  # API Gateway refuses a method naming a missing model; nothing to check
        log.warning(
            "%s %s names model %s, which API %s lacks",
            method.http_method,
            method.resource_path,
            name,
            api.id,
        )
        return None
    validator = compiled(api.id, name, schema)
    if validator is None:
        return None
    try:
        # An empty body is checked as the empty object (commonly reported API Gateway
        # behaviour; not stated in its documentation): a model with required fields refuses it.
        document = json.loads(request.body.decode("utf-8")) if request.body.strip() else {}
    except (UnicodeDecodeError, ValueError):
        return INVALID_BODY
    if not validator.is_valid(document):
        return INVALID_BODY
    return None
