"""BatchWriteItem with retries of UnprocessedItems (exponential backoff, full jitter, bounded).

DynamoDB may accept only part of a batch (throttling, partition limits) and returns the rest as
UnprocessedItems without an error; AWS's guidance is to resend them with exponential backoff.
Errors raised by the call itself (throttling exceptions, 5xx) are retried by botocore's standard
retry mode configured in ``headwater.aws``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

MAX_BATCH = 25  # BatchWriteItem's limit of requests per call


class UnprocessedItemsExhausted(RuntimeError):
    """DynamoDB kept returning UnprocessedItems: transient, the whole load is retried later."""


@dataclass
class RetryPolicy:
    max_attempts: int = 8  # calls per batch, the first one included
    base_delay: float = 0.05  # seconds; doubles per attempt
    max_delay: float = 5.0
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int) -> float:
        # Full jitter: spreads out clients retrying at the same moment.
        return self.rng.uniform(0, min(self.max_delay, self.base_delay * (2**attempt)))


@dataclass
class WriteStats:
    calls: int = 0  # BatchWriteItem requests sent, retries included
    retried_items: int = 0  # items resent after coming back as UnprocessedItems
    items: int = 0  # write/delete requests completed


def chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def batch_write(
    client: Any,
    table: str,
    requests: Iterable[dict[str, Any]],
    policy: RetryPolicy | None = None,
    stats: WriteStats | None = None,
) -> WriteStats:
    """Send ``requests`` ({"PutRequest": ...} / {"DeleteRequest": ...}) 25 per call."""
    policy = policy or RetryPolicy()
    stats = stats if stats is not None else WriteStats()
    for batch in chunks(requests, MAX_BATCH):
        pending = batch
        for attempt in range(policy.max_attempts):
            if attempt:
                policy.sleep(policy.delay(attempt))
                stats.retried_items += len(pending)
            stats.calls += 1
            response = client.batch_write_item(RequestItems={table: pending})
            unprocessed = response.get("UnprocessedItems", {}).get(table, [])
            stats.items += len(pending) - len(unprocessed)
            pending = unprocessed
            if not pending:
                break
        if pending:
            raise UnprocessedItemsExhausted(
                f"{len(pending)} item(s) still unprocessed after {policy.max_attempts} attempts"
            )
    return stats
