"""The caller of an API request, for every capability's API function: the ``Caller`` of the
request's API key, read from the tenancy directory (``TENANCY_TABLE``) through one process-wide,
TTL-cached ``Directory``.

API Gateway puts the id of the key it admitted in ``requestContext.identity.apiKeyId`` (the
local front does the same); the value itself is never read here.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from headwater.handlers.support.settings import env_var, read_settings
from headwater.tenancy import Caller, Directory


@dataclass(frozen=True)
class Settings:
    table: str = env_var("TENANCY_TABLE")


@functools.cache
def _directory(table: str) -> Directory:
    from headwater import aws

    return Directory(aws.client("dynamodb"), table)


def directory() -> Directory:
    return _directory(read_settings(Settings).table)


def key_id(event: dict[str, Any]) -> str | None:
    identity = (event.get("requestContext") or {}).get("identity") or {}
    return identity.get("apiKeyId")


def caller(event: dict[str, Any]) -> Caller:
    """The request's caller; raises ``tenancy.Denied`` (403) for a key no subscriber owns."""
    return directory().caller(key_id(event))


def reset() -> None:
    """Forget the directory (tests that switch AWS mocks call this)."""
    _directory.cache_clear()
