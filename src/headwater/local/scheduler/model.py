"""A Scheduler schedule as the local mode fires it: fire times and the Lambda target's payload.

Pure domain over ``headwater.schedule_expressions``: no AWS SDK, the clock is an argument.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from headwater import schedule_expressions as expressions

# A schedule discovered this soon after its creation or last update is treated as new: a rate
# schedule without StartDate then fires at its creation ("starts invoking immediately") instead
# of one interval later. Older ones (the daemon was down) do not replay missed fires.
DISCOVERY_GRACE = timedelta(seconds=60)
# The Target.Input AWS documents as optional: "If you do not specify anything for this field,
# EventBridge Scheduler delivers a default notification to the target." (Scheduler API
# reference, Target). The notification's shape is not documented; the local mode sends {}.
DEFAULT_EVENT: dict[str, Any] = {}
# Fire times are searched strictly after an instant: one tick earlier includes the instant.
_TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class Schedule:
    """What decides when and how a schedule fires; equality decides a re-plan."""

    name: str
    group: str
    arn: str
    expression: str
    timezone: str
    enabled: bool
    target_arn: str
    input: str | None
    start: datetime | None
    end: datetime | None
    modified: datetime
    delete_after_completion: bool

    @classmethod
    def from_api(cls, conf: dict[str, Any]) -> Schedule:
        """From a GetSchedule response (boto3 shapes: datetimes are aware)."""
        target = conf["Target"]
        return cls(
            name=conf["Name"],
            group=conf.get("GroupName") or "default",
            arn=conf.get("Arn", ""),
            expression=conf["ScheduleExpression"],
            timezone=conf.get("ScheduleExpressionTimezone") or "UTC",
            enabled=conf.get("State", "ENABLED") == "ENABLED",
            target_arn=target["Arn"],
            input=target.get("Input"),
            start=conf.get("StartDate"),
            end=conf.get("EndDate"),
            modified=conf.get("LastModificationDate") or conf["CreationDate"],
            delete_after_completion=conf.get("ActionAfterCompletion") == "DELETE",
        )

    @property
    def one_time(self) -> bool:
        return isinstance(expressions.parse(self.expression), expressions.At)

    @property
    def lambda_target(self) -> bool:
        return self.target_arn.split(":")[2:3] == ["lambda"]

    def _window(self) -> tuple[datetime | None, datetime | None]:
        # "EventBridge Scheduler ignores StartDate for one-time schedules" (and EndDate).
        return (None, None) if self.one_time else (self.start, self.end)

    def first_fire(self, now: datetime) -> datetime | None:
        """The first fire at or after discovery at ``now``; None if it never fires again.

        A schedule created or updated within DISCOVERY_GRACE fires from its modification time on
        (a fire at that instant included); an older one from ``now`` on.
        """
        fresh = now - self.modified <= DISCOVERY_GRACE
        return self.upcoming(min(now, self.modified) - _TICK if fresh else now - _TICK)

    def upcoming(self, after: datetime) -> datetime | None:
        """The first fire strictly after ``after``; None if disabled or it never fires again."""
        if not self.enabled:
            return None
        start, end = self._window()
        parsed = expressions.parse(self.expression)
        if isinstance(parsed, expressions.Rate) and start is None:
            start = self.modified  # anchored at creation: it fires then, then every interval
        fires = expressions.next_fire_times(parsed, after, self.timezone, start, end)
        return fires[0] if fires else None

    def next_fire(self, fired: datetime, now: datetime) -> datetime | None:
        """The fire after the one at ``fired``, not before ``now`` (missed fires are skipped)."""
        if not self.enabled or self.one_time:
            return None
        start, end = self._window()
        if start is None and isinstance(expressions.parse(self.expression), expressions.Rate):
            start = fired  # keep the rate's phase
        fires = expressions.next_fire_times(
            self.expression, max(fired, now - _TICK), self.timezone, start, end
        )
        return fires[0] if fires else None

    def event(self) -> Any:
        """The Lambda event: Target.Input parsed (AWS requires well-formed JSON for a templated
        Lambda target), else the default notification."""
        return json.loads(self.input) if self.input is not None else dict(DEFAULT_EVENT)
