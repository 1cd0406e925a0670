"""Decide, record by record, whether a batch invocation still has time to start another one.

A record not started is reported as a batch item failure and retried, but a batch cut off by the
function timeout is retried whole, records already done included. The reserve kept must cover one
more record's work, so it is at least MIN_SAFETY_MARGIN_MS and grows with the budget for the
larger inputs that longer timeouts are configured for.
"""

from __future__ import annotations

from typing import Any

MIN_SAFETY_MARGIN_MS = 10_000
SAFETY_MARGIN_SHARE = 0.2


def safety_margin_ms(budget_ms: int) -> int:
    """Reserve for an invocation with ``budget_ms`` left at its start: max(10 s, 20 %)."""
    return max(MIN_SAFETY_MARGIN_MS, int(budget_ms * SAFETY_MARGIN_SHARE))


class OutOfTime(Exception):
    """Not started: too little time left in this invocation; the queue delivers it again."""


class TimeBudget:
    """Decides per record whether there is still time to start it.

    The runtime does not expose the configured timeout, so the time remaining when the batch
    starts stands for it. The first record always runs: with a timeout below the margin,
    refusing it would fail every batch until it reached the DLQ.
    """

    def __init__(self, context: Any) -> None:
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        self._remaining = remaining if callable(remaining) else None
        budget = self._remaining() if self._remaining else 0
        self._margin = safety_margin_ms(budget)
        self._started = 0

    def start_next(self) -> None:
        if self._remaining is not None and self._started > 0:
            left = self._remaining()
            if left < self._margin:
                raise OutOfTime(f"{left} ms left, below the {self._margin} ms safety margin")
        self._started += 1
