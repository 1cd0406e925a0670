"""Where the patches hand asynchronous Lambda invocations: the runner, registered at start-up.

moto invokes Lambda functions through Docker; the patches that take those pushes over (EventBridge
Lambda targets, SNS ``lambda`` subscriptions, moto's own service notifications) call
:func:`invoke_lambda` instead, which passes the event to whatever :func:`set_lambda_invoker`
registered (the daemon registers the runner's ``invoke_async``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

LambdaInvoker = Callable[[str, dict[str, Any]], None]

_invoker: LambdaInvoker | None = None


def set_lambda_invoker(fn: LambdaInvoker | None) -> None:
    """Register ``fn(function_arn, event)`` to receive asynchronous Lambda invocations.

    Used by EventBridge Lambda targets and SNS -> Lambda subscriptions. ``None`` unregisters it.
    """
    global _invoker
    _invoker = fn


def current_invoker() -> LambdaInvoker | None:
    """What receives invocations now (to put it back after a temporary replacement)."""
    return _invoker


def invoke_lambda(function_arn: str, event: dict[str, Any]) -> None:
    """Hand ``event`` to the registered invoker; without one it is logged and dropped."""
    invoker = _invoker
    if invoker is None:
        log.warning("no Lambda invoker registered; dropped event for %s", function_arn)
        return
    invoker(function_arn, event)
