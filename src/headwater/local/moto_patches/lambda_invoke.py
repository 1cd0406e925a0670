"""Lambda patch: ``Invoke`` with ``InvocationType`` ``Event`` is handed to the runner.

moto 5.2.5 runs every invocation in Docker: without Docker an Event invocation still answers 202,
with "error running docker" as its payload, and nothing runs. A function that invokes another
asynchronously (collect's run-now invokes the collector with InvocationType Event) would do
nothing locally without a sign. Here an Event invocation goes where the other asynchronous
pushes go (``lambda_invoker``: the runner's queue, which retries and sends to destinations as
Lambda does), after the checks AWS makes before it queues the event: the function exists
(ResourceNotFoundException, moto's own) and the payload is JSON ("Could not parse request body
into json", InvalidRequestContentException, as AWS answers). RequestResponse and DryRun stay
moto's: the runner serves synchronous invocations through its own entry points (the API front,
``headwater local invoke``).

Invoke is not journaled (``persistence.requests.STATELESS``): a replay never invokes again.
"""

from __future__ import annotations

import json
from typing import Any

from headwater.local.moto_patches.lambda_invoker import invoke_lambda

original_invoke: Any = None


def apply() -> None:
    global original_invoke
    from moto.awslambda import models
    from moto.awslambda.exceptions import LambdaClientError

    backend = models.LambdaBackend
    if original_invoke is not None:
        return
    original_invoke = backend.invoke

    def invoke(
        self: Any,
        function_name: str,
        qualifier: str | None,
        body: Any,
        headers: Any,
        response_headers: Any,
    ) -> str | bytes | None:
        if (headers or {}).get("X-Amz-Invocation-Type") != "Event":
            return original_invoke(self, function_name, qualifier, body, headers, response_headers)
        fn = self.get_function(function_name, qualifier)  # ResourceNotFoundException
        text = body.decode() if isinstance(body, bytes) else (body or "")
        try:
            event = json.loads(text) if text.strip() else {}
        except ValueError as exc:
            raise LambdaClientError(
                "InvalidRequestContentException",
                f"Could not parse request body into json: {exc}",
            ) from exc
        invoke_lambda(fn.function_arn, event)
        return b""  # 202 with an empty body, as AWS answers an Event invocation

    backend.invoke = invoke
