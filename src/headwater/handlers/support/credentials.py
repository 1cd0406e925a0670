"""Database credentials for the handlers that read a source: the ARN per source from a JSON
variable, the secret's value fetched from Secrets Manager once per container and ARN.

The value is never logged, never put in a message or an exception; ``forget`` drops the cache
(a connection refused after a rotation fetches the secret again on the next attempt).
"""

from __future__ import annotations

import json
from typing import Any

from headwater import aws

_CACHE: dict[str, dict[str, Any]] = {}


def secret_arns(text: str, variable: str) -> dict[str, str]:
    """``{"<source>": {"secret_arn": "..."}}`` -> source -> secret ARN; a malformed value names
    the variable, never its content."""
    try:
        data = json.loads(text)
    except ValueError:
        raise RuntimeError(f"{variable} is not JSON") from None
    if not isinstance(data, dict) or not all(
        isinstance(v, dict) and isinstance(v.get("secret_arn"), str) for v in data.values()
    ):
        raise RuntimeError(f'{variable} must map each source to {{"secret_arn": "..."}}')
    return {name: value["secret_arn"] for name, value in data.items()}


def secret(arn: str) -> dict[str, Any]:
    """The secret's JSON value, fetched once per container and ARN."""
    if arn not in _CACHE:
        value = aws.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
        _CACHE[arn] = json.loads(value)
    return _CACHE[arn]


def forget() -> None:
    _CACHE.clear()


def dynamodb_table(name: str) -> Any:
    """A boto3 Table resource (conditional updates, Python values) with standard retries; it
    honours AWS_ENDPOINT_URL like headwater.aws's clients."""
    import boto3
    from botocore.config import Config

    return (
        boto3.session.Session()
        .resource("dynamodb", config=Config(retries={"mode": "standard", "max_attempts": 5}))
        .Table(name)
    )
