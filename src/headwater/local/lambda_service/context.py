"""The context object a handler receives, shaped like the one the AWS Python runtime builds.

Attribute names and types follow the runtime (awslambdaric): ``memory_limit_in_mb`` is the string
from ``AWS_LAMBDA_FUNCTION_MEMORY_SIZE`` there, so it is a string here too; code that works locally
then also works on AWS.
"""

from __future__ import annotations

import time
from typing import Any


class LambdaContext:
    """Per-invocation context; the deadline is absolute so remaining time keeps ticking down."""

    def __init__(
        self,
        *,
        function_name: str,
        function_version: str,
        invoked_function_arn: str,
        memory_limit_in_mb: str,
        aws_request_id: str,
        log_group_name: str,
        log_stream_name: str,
        deadline_epoch_ms: int,
    ) -> None:
        self.function_name = function_name
        self.function_version = function_version
        self.invoked_function_arn = invoked_function_arn
        self.memory_limit_in_mb = memory_limit_in_mb
        self.aws_request_id = aws_request_id
        self.log_group_name = log_group_name
        self.log_stream_name = log_stream_name
        self.identity: Any = None
        self.client_context: Any = None
        self._deadline_epoch_ms = deadline_epoch_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_epoch_ms - int(time.time() * 1000))

    def __repr__(self) -> str:
        return (
            f"LambdaContext(function_name={self.function_name!r}, "
            f"aws_request_id={self.aws_request_id!r})"
        )
