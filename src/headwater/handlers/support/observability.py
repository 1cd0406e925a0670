"""Powertools Logger and Metrics shared by the handlers, configured from the standard variables."""

from __future__ import annotations

import functools
import os

from aws_lambda_powertools import Logger, Metrics


def observability() -> tuple[Logger, Metrics]:
    """The Logger and Metrics for POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE."""
    return _create(
        os.environ.get("POWERTOOLS_SERVICE_NAME"), os.environ.get("POWERTOOLS_METRICS_NAMESPACE")
    )


@functools.cache
def _create(service: str | None, namespace: str | None) -> tuple[Logger, Metrics]:
    # Created on first use and keyed by the variables, so a changed environment (tests) applies.
    return Logger(service=service), Metrics(namespace=namespace, service=service)
