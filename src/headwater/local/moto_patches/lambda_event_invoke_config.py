"""Lambda patch: PutFunctionEventInvokeConfig replaces, UpdateFunctionEventInvokeConfig merges.

moto 5.2.5 appends every Put to a list and always answers Get with the first entry, so a second
Put is stored but never read: the AWS provider updates ``aws_lambda_function_event_invoke_config``
with PutFunctionEventInvokeConfig, so a changed retry count or destination would show as a
perpetual diff, and the runner (which serves asynchronous invocations with this configuration)
would keep the old one. Its Update is a Put of only the fields given, dropping the others.

As AWS documents them (Lambda API reference): Put "Configures options for asynchronous
invocation ... If a configuration already exists for a function, version, or alias, this
operation overwrites it. If you exclude any settings, they are removed. To set one option without
affecting existing settings for other options, use UpdateFunctionEventInvokeConfig." So here Put
stores exactly the configuration given, and Update changes only the settings it names on the
existing one (ResourceNotFoundException, moto's own, when there is none).

Both are backend methods reached by the journaled PUT/POST requests, so a replayed journal ends
with the same configuration as before the restart.
"""

from __future__ import annotations

from typing import Any

# moto's methods, kept for the contract test that tells when moto stops appending.
original_put: Any = None
original_update: Any = None


def apply() -> None:
    global original_put, original_update
    from moto.awslambda import models

    backend = models.LambdaBackend
    if original_put is not None:
        return
    original_put = backend.put_function_event_invoke_config
    original_update = backend.update_function_event_invoke_config

    def put(self: Any, function_name: str, config: dict[str, Any]) -> dict[str, Any]:
        fn = self.get_function(function_name)
        # EventInvokeConfig validates the limits and destination ARNs as moto does.
        event_config = models.EventInvokeConfig(fn.function_arn, fn.last_modified, config)
        fn.event_invoke_config = [event_config]
        return event_config.response()

    def update(self: Any, function_name: str, config: dict[str, Any]) -> dict[str, Any]:
        fn = self.get_function(function_name)
        current = self.get_function_event_invoke_config(function_name)  # raises when none
        merged = {
            key: value
            for key, value in current.items()
            if key not in ("FunctionArn", "LastModified")
        }
        merged.update(config)
        event_config = models.EventInvokeConfig(fn.function_arn, fn.last_modified, merged)
        fn.event_invoke_config = [event_config]
        return event_config.response()

    backend.put_function_event_invoke_config = put
    backend.update_function_event_invoke_config = update
