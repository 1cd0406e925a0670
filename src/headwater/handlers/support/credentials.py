"""Database credentials for the handlers that read a source: the secret ARN per source from a
JSON variable, the secret's value from Secrets Manager through Powertools' parameters utility.

The value is cached per container for ``MAX_AGE_SECONDS``, so a secret rotated or repointed to
another host is read again within minutes by warm containers, not only by new ones. It is never
logged, never put in a message or an exception; ``forget`` drops the cache at once (a
connection refused after a rotation fetches the secret again on the next attempt).
"""

from __future__ import annotations

import functools
import json
from typing import Any

from headwater import aws

MAX_AGE_SECONDS = 300


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


def target_prefix(text: str, source: str) -> str | None:
    """The key prefix the module lets ``source`` write under (ONBOARD_SOURCES), if it says."""
    prefix = json.loads(text).get(source, {}).get("target_prefix")
    return prefix if isinstance(prefix, str) else None


@functools.cache
def _provider() -> Any:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    return SecretsProvider(boto3_client=aws.client("secretsmanager"))


def secret(arn: str) -> dict[str, Any]:
    """The secret's JSON value, cached per container and ARN for MAX_AGE_SECONDS."""
    return _provider().get(arn, max_age=MAX_AGE_SECONDS, transform="json")


def forget() -> None:
    """Drop the cached values and the provider (its client may point at another endpoint)."""
    if _provider.cache_info().currsize:
        _provider().clear_cache()
    _provider.cache_clear()
