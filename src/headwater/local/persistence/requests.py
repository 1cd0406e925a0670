"""Which emulator requests change state (journaled) and which only read (served as before).

The operation name comes from where each AWS protocol carries it: the ``X-Amz-Target`` header
(JSON protocols: DynamoDB, SQS, KMS, EventBridge, Scheduler's peers, Logs), ``Action`` in the
query string or form body (query protocol: SNS, IAM, STS, SQS's old protocol), the
``/service/<name>/operation/<op>`` path (Smithy RPCv2: CloudWatch), and for REST protocols
(S3, API Gateway, Lambda, Scheduler) the HTTP method. A request is read-only when its operation is
a read by AWS's naming (Get/List/Describe/Head/Query/Scan/...) or one of the few that touch no
stored state (KMS cryptography, STS credentials, Lambda invocations, which the runner serves).
Anything unrecognised counts as a write: journaling a read costs a record, missing a write loses
data.
"""

from __future__ import annotations

import re
from enum import Enum
from urllib.parse import parse_qs


class Kind(Enum):
    READ = "read"
    WRITE = "write"
    RECEIVE = "receive"  # SQS ReceiveMessage: a write, journaled by the SQS hook (see wsgi.py)


READ_PREFIXES = (
    "Get",
    "List",
    "Describe",
    "Head",
    "Query",
    "Scan",
    "BatchGet",
    "TransactGet",
    "Search",
    "Lookup",
    "Simulate",
    "TestEventPattern",
    "FilterLogEvents",
    "StartQuery",
)

# Operations that keep nothing: cryptography with an existing key, temporary credentials, and
# Lambda invocations (moto hands them to the runner; what a function writes is journaled itself).
STATELESS = frozenset(
    {
        "Encrypt",
        "Decrypt",
        "ReEncrypt",
        "GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext",
        "GenerateDataKeyPair",
        "GenerateDataKeyPairWithoutPlaintext",
        "GenerateRandom",
        "GenerateMac",
        "VerifyMac",
        "Sign",
        "Verify",
        "AssumeRole",
        "AssumeRoleWithWebIdentity",
        "AssumeRoleWithSAML",
        "GetSessionToken",
        "GetFederationToken",
        "Invoke",
        "InvokeAsync",
    }
)

_RPC_V2_PATH = re.compile(r"^/service/[^/]+/operation/([A-Za-z0-9]+)$")
_LAMBDA_INVOKE_PATH = re.compile(
    r"^/20\d\d-\d\d-\d\d/functions/[^/]+/(invocations|invoke-async/?)$"
)


def operation(environ: dict, body: bytes) -> str | None:
    """The AWS operation name of a request, or None for REST protocols (named by method)."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.rsplit(".", 1)[-1]
    path = environ.get("PATH_INFO", "")
    rpc = _RPC_V2_PATH.match(path)
    if rpc:
        return rpc.group(1)
    action = parse_qs(environ.get("QUERY_STRING", "")).get("Action")
    if action:
        return action[0]
    content_type = environ.get("CONTENT_TYPE", "")
    if body and content_type.startswith("application/x-www-form-urlencoded"):
        action = parse_qs(body.decode("utf-8", "replace")).get("Action")
        if action:
            return action[0]
    if _LAMBDA_INVOKE_PATH.match(path):
        return "Invoke"
    return None


def classify(environ: dict, body: bytes) -> Kind:
    method = environ.get("REQUEST_METHOD", "GET").upper()
    if method in ("GET", "HEAD", "OPTIONS"):
        return Kind.READ
    name = operation(environ, body)
    if name is None:
        # REST protocols: the method says it. S3's POST ?select reads; every other POST writes.
        if method == "POST" and "select" in parse_qs(environ.get("QUERY_STRING", ""), True):
            return Kind.READ
        return Kind.WRITE
    if name == "ReceiveMessage":
        return Kind.RECEIVE
    if name in STATELESS or name.startswith(READ_PREFIXES):
        return Kind.READ
    return Kind.WRITE
