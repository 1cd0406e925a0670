"""What every capability's API function shares around its Powertools resolver.

- ``json_response``: every answer is JSON, errors ``{"message": ...}``;
- ``add_common_handlers``: a request failing the typed routes' validation is a 400 with one
  readable line (as API Gateway's own validator answers, not Powertools' default 422), a tenancy
  ``Denied`` is its status (403 or 404), an unknown route a 404, an AWS service that throttles
  or is unavailable a 503 with ``Retry-After`` (the client may retry; any other AWS error stays
  a 500);
- ``serve``: the Lambda entrypoint's body: one log line per request with the key's id (never the
  event: it holds the API key's value and the body), and an unexpected exception logged and
  answered 500 without detail.
"""

from __future__ import annotations

import functools
import json
import os
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.logging import correlation_paths

from headwater.tenancy import Denied


def json_response(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> Response:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(body),
        headers=headers,
    )


def add_common_handlers(app: APIGatewayRestResolver) -> None:
    @app.exception_handler(RequestValidationError)
    def _invalid(exc: RequestValidationError) -> Response:
        # One readable line, e.g. "limit: Input should be greater than or equal to 1".
        problems = [
            f"{error['loc'][-1]}: {error['msg']}" if error.get("loc") else str(error.get("msg"))
            for error in exc.errors()
        ]
        return json_response(400, {"message": "; ".join(problems) or "invalid request"})

    @app.exception_handler(Denied)
    def _denied(exc: Denied) -> Response:
        return json_response(exc.status, {"message": exc.message})

    @app.not_found
    def _not_found(exc: Exception) -> Response:
        return json_response(404, {"message": "Not found"})

    from botocore.exceptions import ClientError

    @app.exception_handler(ClientError)
    def _aws_busy(exc: ClientError) -> Response:
        if exc.response.get("Error", {}).get("Code") not in RETRYABLE_AWS_ERRORS:
            raise exc  # serve(): logged, answered 500 without detail
        return json_response(
            503,
            {"message": "a service the API depends on is busy; retry shortly"},
            {"Retry-After": "1"},
        )


# What AWS answers when the request was fine but the service could not take it now (botocore's
# standard retry mode retries these too, and has given up by the time they reach the handler).
RETRYABLE_AWS_ERRORS = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalServerException",
        "InternalServiceError",
    }
)


@functools.cache
def _logger(service: str | None) -> Logger:
    return Logger(service=service)


def logger() -> Logger:
    """The API function's Powertools logger (the one ``serve`` logs its request lines with)."""
    return _logger(os.environ.get("POWERTOOLS_SERVICE_NAME"))


def serve(app: APIGatewayRestResolver, event: dict[str, Any], context: Any) -> dict[str, Any]:
    logger = _logger(os.environ.get("POWERTOOLS_SERVICE_NAME"))

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
    def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
        try:
            response = app.resolve(event, context)
        except Exception:
            # Type and place only: never the event (it holds the API key value and the body).
            logger.exception("request failed", extra=request_fields(event))
            return {
                "statusCode": 500,
                "headers": {"Content-Type": content_types.APPLICATION_JSON},
                "body": json.dumps({"message": "Internal server error"}),
                "isBase64Encoded": False,
            }
        logger.info("request", extra={**request_fields(event), "status": response["statusCode"]})
        return response

    return handle(event, context)


def request_fields(event: dict[str, Any]) -> dict[str, Any]:
    identity = (event.get("requestContext") or {}).get("identity") or {}
    return {
        "method": event.get("httpMethod"),
        "resource": event.get("resource"),
        "api_key_id": identity.get("apiKeyId"),  # the id only, never identity["apiKey"]
    }
