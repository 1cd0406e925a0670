"""A Lambda context for handlers called directly in tests: what Powertools reads of one."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class LambdaContext:
    function_name: str = "hw-function"
    memory_limit_in_mb: int = 1024
    # Unlike any request id in tests/fixtures: a test can tell the invocation's from the event's.
    aws_request_id: str = "f1e2d3c4-7b61-11e6-9a41-93e8deadbeef"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        # Powertools' idempotency bounds an in-progress record by the invocation's time left.
        return 30_000
