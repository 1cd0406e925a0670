"""Which days a collector run collects: the checkpoint and catch-up rule.

A schedule's checkpoint is the exclusive end of the last window it collected (a UTC day). A run
at ``now`` collects every whole UTC day from the checkpoint up to the *horizon*, the first day
not yet complete: ``today - lag_days + 1`` (with the default lag of 1 day, today is still
accumulating and yesterday is the last complete day; a source that settles later takes a larger
lag). So:

- a first run (no checkpoint) collects the last ``initial_days`` complete days (default 1);
- a normal daily run collects the one day completed since the previous run;
- a run after missed runs catches up every day missed, oldest first;
- a second run on the same day finds nothing new (the checkpoint already reaches the horizon);
- catch-up is capped at ``max_backfill_days``: older missed days are not collected and are
  reported as ``skipped`` so the collector can log and count the gap instead of hiding it.

Windows are one day each, oldest first, so the collector advances the checkpoint after every
day it writes: a failure halfway through a catch-up keeps the days already done, and the retry
(or the next run) starts where it stopped. Facts have idempotent keys (``facts.py``), so a day
collected twice is overwritten, never duplicated: advancing the checkpoint late is always safe.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

DAY = timedelta(days=1)


@dataclass(frozen=True)
class Window:
    """A half-open range of whole UTC days, ``[start, end)``; never empty."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if type(self.start) is not date or type(self.end) is not date:
            # datetime is a date subclass: a time of day would make "whole days" a lie.
            raise TypeError("a window's start and end are dates (whole days), not datetimes")
        if self.start >= self.end:
            raise ValueError(f"empty window: start {self.start} is not before end {self.end}")

    def days(self) -> Iterator[date]:
        day = self.start
        while day < self.end:
            yield day
            day += DAY

    def __len__(self) -> int:
        return (self.end - self.start).days


@dataclass(frozen=True)
class Plan:
    """What a run collects (``windows``, oldest first) and what the backfill cap dropped."""

    windows: tuple[Window, ...]
    skipped: Window | None

    @property
    def checkpoint(self) -> date | None:
        """The checkpoint once every window is collected (None when there is nothing to do)."""
        return self.windows[-1].end if self.windows else None


def horizon(now: datetime, lag_days: int = 1) -> date:
    """The first UTC day not yet complete at ``now``, given the source's lag."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware (a naive time has no UTC day)")
    return now.astimezone(UTC).date() - timedelta(days=lag_days) + DAY


def plan(
    checkpoint: date | None,
    now: datetime,
    *,
    lag_days: int = 1,
    max_backfill_days: int = 30,
    initial_days: int = 1,
) -> Plan:
    """The windows to collect at ``now`` after a last window ending at ``checkpoint``."""
    if lag_days < 0:
        raise ValueError(f"lag_days must be 0 or more, not {lag_days}")
    if max_backfill_days < 1:
        raise ValueError(f"max_backfill_days must be at least 1, not {max_backfill_days}")
    if not 1 <= initial_days <= max_backfill_days:
        raise ValueError(
            f"initial_days must be 1 to max_backfill_days ({max_backfill_days}), not {initial_days}"
        )
    end = horizon(now, lag_days)
    start = end - timedelta(days=initial_days) if checkpoint is None else checkpoint
    if start >= end:
        # Nothing completed since the checkpoint (or a checkpoint ahead of the clock: a lag
        # lowered after a run). Never collect backwards from a checkpoint.
        return Plan((), None)
    oldest = end - timedelta(days=max_backfill_days)
    skipped = Window(start, oldest) if start < oldest else None
    first = max(start, oldest)
    days = (first + timedelta(days=i) for i in range((end - first).days))
    return Plan(tuple(Window(d, d + DAY) for d in days), skipped)
