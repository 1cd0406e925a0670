"""Lambda patch: the ``Invoke`` API with ``InvocationType: Event`` queues the event for the runner.

moto runs every ``Invoke`` through Docker (``LambdaFunction._invoke_lambda``), which the local
mode does not have, so a function that invokes another asynchronously (the collect API's
``POST /schedules/{name}/run``) would fail. An Event invocation is handed to the registered
invoker (the runner's asynchronous queue) after moto has resolved the function, so an unknown
function is still Lambda's 404 (ResourceNotFoundException) and a known one Lambda's 202 with an
empty payload. RequestResponse and DryRun are left to moto.
"""

from __future__ import annotations

import json
from typing import Any

from headwater.local.moto_patches.lambda_invoker import invoke_lambda


def apply() -> None:
    from moto.awslambda.models import LambdaBackend

    original = LambdaBackend.invoke

    def invoke(
        self: Any,
        function_name: str,
        qualifier: str | None,
        body: Any,
        headers: Any,
        response_headers: Any,
    ) -> Any:
        if (headers.get("X-Amz-Invocation-Type") or "").lower() != "event":
            return original(self, function_name, qualifier, body, headers, response_headers)
        function = self.get_function(function_name, qualifier)  # unknown: moto's 404
        raw = body.decode() if isinstance(body, bytes) else body
        invoke_lambda(function.function_arn, json.loads(raw) if raw else {})
        return b""  # not None: moto answers 202 for an Event invocation

    LambdaBackend.invoke = invoke
