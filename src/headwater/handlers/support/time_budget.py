"""Decide, record by record, whether a batch invocation still has time to start another one.

A record not started is reported as a batch item failure and retried, but a batch cut off by the
function timeout is retried whole, records already done included. The reserve kept must cover the
next record's work: the caller's estimate of it (size over a measured throughput) plus
MIN_SAFETY_MARGIN_MS, or, with no estimate, max(10 s, 20 % of the budget).
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
        self._budget = budget
        self._margin = safety_margin_ms(budget)
        self._started = 0

    @property
    def total_ms(self) -> int | None:
        """The time the invocation had at its start (stands for the configured timeout)."""
        return self._budget if self._remaining is not None else None

    def start_next(self, estimated_ms: int | None = None) -> None:
        """Raise OutOfTime when the record cannot finish in the time left.

        With an estimate of the record's own cost the reserve is that estimate plus
        MIN_SAFETY_MARGIN_MS for the output and cleanup; without one, the flat margin.
        """
        if self._remaining is not None and self._started > 0:
            left = self._remaining()
            needed = self._margin if estimated_ms is None else estimated_ms + MIN_SAFETY_MARGIN_MS
            if left < needed:
                raise OutOfTime(f"{left} ms left, {needed} ms needed to start this record")
        self._started += 1
