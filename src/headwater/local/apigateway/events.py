"""Lambda proxy integration (REST v1): the event API Gateway sends and the response it expects.

The event has API Gateway's exact v1 shape so handlers (Powertools' APIGatewayRestResolver
included) see locally what they will see on AWS. The response mapping follows API Gateway's
rules: a dict with an integer ``statusCode`` is required, anything else is a 502.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# moto's default account: the event carries the account that owns the API.
LOCAL_ACCOUNT_ID = "123456789012"


@dataclass(frozen=True)
class IncomingRequest:
    """One HTTP request as the front received it (stage already stripped from ``path``)."""

    method: str
    path: str
    stage: str
    headers: list[tuple[str, str]]
    query: list[tuple[str, str]]
    body: bytes
    source_ip: str
    protocol: str = "HTTP/1.1"
    # Decoded path segments, split before decoding (an encoded slash stays inside its segment);
    # None: split ``path``.
    segments: tuple[str, ...] | None = None

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        values = [value for key, value in self.headers if key.lower() == wanted]
        return values[-1] if values else None


@dataclass(frozen=True)
class Caller:
    """What API Gateway knows about the caller (``requestContext.identity``)."""

    api_key: str | None = None
    api_key_id: str | None = None


@dataclass
class ProxyResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


class MalformedProxyResponse(ValueError):
    """The function's answer is not a valid proxy response (API Gateway answers 502)."""


def _single_and_multi(pairs: list[tuple[str, str]]) -> tuple[dict | None, dict | None]:
    if not pairs:
        return None, None
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for key, value in pairs:
        single[key] = value  # the last value wins, as on API Gateway
        multi.setdefault(key, []).append(value)
    return single, multi


def _body(raw: bytes) -> tuple[str | None, bool]:
    if not raw:
        return None, False
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError:  # not text: hand it over base64-encoded, flagged as such
        return base64.b64encode(raw).decode("ascii"), True


def build_event(
    request: IncomingRequest,
    *,
    api_id: str,
    resource_id: str,
    resource_path: str,
    path_parameters: dict[str, str],
    stage_variables: dict[str, str],
    caller: Caller,
    request_id: str | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    now = time.time() if now is None else now
    request_id = request_id or str(uuid.uuid4())
    headers, multi_headers = _single_and_multi(request.headers)
    query, multi_query = _single_and_multi(request.query)
    body, is_base64 = _body(request.body)
    host = request.header("Host") or f"{api_id}.execute-api.localhost"
    moment = datetime.fromtimestamp(now, UTC)
    return {
        "resource": resource_path,
        "path": request.path,
        "httpMethod": request.method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": path_parameters or None,
        "stageVariables": stage_variables or None,
        "requestContext": {
            "resourceId": resource_id,
            "resourcePath": resource_path,
            "httpMethod": request.method,
            "extendedRequestId": base64.b32encode(uuid.uuid4().bytes)[:16].decode().lower(),
            "requestTime": moment.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "path": f"/{request.stage}{request.path}",
            "accountId": LOCAL_ACCOUNT_ID,
            "protocol": request.protocol,
            "stage": request.stage,
            "domainPrefix": host.split(".", 1)[0].split(":", 1)[0],
            "requestTimeEpoch": int(now * 1000),
            "requestId": request_id,
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": None,
                "cognitoIdentityId": None,
                "caller": None,
                "sourceIp": request.source_ip,
                "principalOrgId": None,
                "accessKey": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": None,
                "userAgent": request.header("User-Agent"),
                "user": None,
                "apiKey": caller.api_key,
                "apiKeyId": caller.api_key_id,
            },
            "domainName": host,
            "apiId": api_id,
        },
        "body": body,
        "isBase64Encoded": is_base64,
    }


def map_response(payload: Any) -> ProxyResponse:
    """The function's proxy response -> the HTTP response; MalformedProxyResponse if invalid."""
    if not isinstance(payload, dict):
        raise MalformedProxyResponse(f"response is {type(payload).__name__}, not an object")
    status = payload.get("statusCode")
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise MalformedProxyResponse(f"invalid statusCode {status!r}")
    headers: list[tuple[str, str]] = []
    single = payload.get("headers") or {}
    multi = payload.get("multiValueHeaders") or {}
    if not isinstance(single, dict) or not isinstance(multi, dict):
        raise MalformedProxyResponse("headers and multiValueHeaders must be objects")
    for name, values in multi.items():
        if not isinstance(values, list):
            raise MalformedProxyResponse(f"multiValueHeaders[{name!r}] must be a list")
        headers.extend((str(name), _header_value(v)) for v in values)
    lowered = {name.lower() for name, _ in headers}
    # Both present: API Gateway merges them, multi-value entries first.
    headers.extend(
        (str(name), _header_value(value))
        for name, value in single.items()
        if str(name).lower() not in lowered
    )
    body = payload.get("body")
    if body is None:
        raw = b""
    elif isinstance(body, str):
        if payload.get("isBase64Encoded"):
            try:
                raw = base64.b64decode(body, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise MalformedProxyResponse("body is not valid base64") from exc
        else:
            raw = body.encode("utf-8")
    else:
        raise MalformedProxyResponse(f"body is {type(body).__name__}, not a string")
    return ProxyResponse(status, headers, raw)


def _header_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def json_response(status: int, body: Any, **headers: str) -> ProxyResponse:
    pairs = [("Content-Type", "application/json"), *list(headers.items())]
    return ProxyResponse(status, pairs, json.dumps(body).encode())


def message(status: int, text: str, **headers: str) -> ProxyResponse:
    """API Gateway's own error answers: ``{"message": "..."}``."""
    return json_response(status, {"message": text}, **headers)
