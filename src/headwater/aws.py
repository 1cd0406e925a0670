"""AWS clients, created lazily and once per process.

boto3 honours the standard ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_<SERVICE>`` variables, so the
same code talks to AWS or to the embedded emulator without branching on "local".
"""

from __future__ import annotations

import functools
from typing import Any

import boto3
from botocore.config import Config

# Standard retry mode: exponential backoff with jitter on throttling and 5xx, as AWS recommends.
_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5})


@functools.cache
def client(service: str, endpoint_url: str | None = None) -> Any:
    """Return the process-wide client for ``service`` (``endpoint_url`` overrides the variables)."""
    return boto3.session.Session().client(service, endpoint_url=endpoint_url, config=_CONFIG)


@functools.cache
def resource(service: str) -> Any:
    """Return the process-wide boto3 resource for ``service`` (DynamoDB's ``Table``: Python
    values, conditional updates and ``batch_writer``), with the clients' retry settings."""
    return boto3.session.Session().resource(service, config=_CONFIG)


def reset() -> None:
    """Forget cached clients and resources (tests that change endpoints or credentials)."""
    client.cache_clear()
    resource.cache_clear()
