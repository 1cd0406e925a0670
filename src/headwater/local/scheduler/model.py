"""A Scheduler schedule as the local mode fires it: fire times, the Lambda target's payload with
its context attributes, the retry policy and the dead-letter queue.

Pure domain over ``headwater.schedule_expressions``: no AWS SDK, the clock is an argument.

FlexibleTimeWindow: with Mode FLEXIBLE AWS fires "within" MaximumWindowInMinutes after the
scheduled time, at a moment it picks; the local mode fires at the start of the window (the
scheduled time), which is one of the moments AWS may pick.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
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

# Context attributes (Scheduler user guide, "Adding context attributes"): "EventBridge Scheduler
# replaces each keyword with its respective value when your schedule invokes the target."
SCHEDULE_ARN = "<aws.scheduler.schedule-arn>"  # "The ARN of the schedule."
# "The time you specified for the schedule to invoke its target, for example,
# 2022-03-22T18:59:43Z."
SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"
# "The unique ID that EventBridge Scheduler assigns for each attempted invocation of a target,
# for example, d32c5kddcf5bb8c3." One per fire, kept across its retries: the dead-letter event
# carries one EXECUTION_ID for all the attempts, which <aws.scheduler.attempt-number> tells apart.
EXECUTION_ID = "<aws.scheduler.execution-id>"
# "A counter that identifies the attempt number for the current invocation, for example, 1."
ATTEMPT_NUMBER = "<aws.scheduler.attempt-number>"


def iso_utc(moment: datetime) -> str:
    """``2022-03-22T18:59:43Z``: the shape of the scheduled time in payloads and DLQ messages."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class RetryPolicy:
    """Target.RetryPolicy (Scheduler API reference, RetryPolicy): "Retry attempts with
    exponential backoff continue until either the maximum number of attempts is made or until the
    duration of the MaximumEventAgeInSeconds is reached." Ranges 0-185 and 60-86400. The
    Scheduler reference states no default; without a RetryPolicy the local mode takes the maxima,
    EventBridge's documented default for targets ("By default, EventBridge retries sending the
    event for 24 hours and up to 185 times", EventBridge user guide, "How EventBridge retries
    delivering events")."""

    maximum_retry_attempts: int = 185
    maximum_event_age: timedelta = timedelta(seconds=86400)

    @classmethod
    def from_api(cls, conf: dict[str, Any] | None) -> RetryPolicy:
        conf = conf or {}
        return cls(
            int(conf.get("MaximumRetryAttempts", 185)),
            timedelta(seconds=int(conf.get("MaximumEventAgeInSeconds", 86400))),
        )

    def exhausted(self, retries_done: int, scheduled: datetime, now: datetime) -> str | None:
        """Why no retry may follow ``retries_done`` retries of the fire scheduled at
        ``scheduled``: the EXHAUSTED_RETRY_CONDITION value AWS puts in the dead-letter event
        ("MaximumRetryAttempts" or "MaximumEventAgeInSeconds"), or None when one may."""
        if retries_done >= self.maximum_retry_attempts:
            return "MaximumRetryAttempts"
        if now - scheduled >= self.maximum_event_age:
            return "MaximumEventAgeInSeconds"
        return None


def backoff(retries_done: int, base: float, cap: float) -> float:
    """Seconds before the next retry: exponential (base, 2 base, 4 base...) up to ``cap``. AWS
    documents exponential backoff, not its factors; the local mode uses no jitter, so a test can
    predict when each retry happens."""
    return min(cap, base * (2**retries_done))


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
    role_arn: str = ""
    dead_letter_arn: str | None = None
    retry_policy: RetryPolicy = field(default_factory=RetryPolicy)
    flexible_window: timedelta | None = None  # None: Mode OFF

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
            role_arn=target.get("RoleArn", ""),
            dead_letter_arn=(target.get("DeadLetterConfig") or {}).get("Arn") or None,
            retry_policy=RetryPolicy.from_api(target.get("RetryPolicy")),
            flexible_window=_flexible_window(conf.get("FlexibleTimeWindow")),
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

    def payload(self, scheduled: datetime, execution_id: str, attempt: int) -> str:
        """Target.Input with its context attributes replaced (the default notification, ``{}``,
        when there is none): the text the target receives and a dead-letter event carries."""
        if self.input is None:
            return json.dumps(DEFAULT_EVENT)
        values = {
            SCHEDULE_ARN: self.arn,
            SCHEDULED_TIME: iso_utc(scheduled),
            EXECUTION_ID: execution_id,
            ATTEMPT_NUMBER: str(attempt),
        }
        text = self.input
        for keyword, value in values.items():
            text = text.replace(keyword, value)
        return text

    def event(
        self, scheduled: datetime | None = None, execution_id: str = "", attempt: int = 1
    ) -> Any:
        """The Lambda event: the payload parsed (AWS requires well-formed JSON for a templated
        Lambda target's Input); raises ValueError when it is not JSON."""
        return json.loads(self.payload(scheduled or self.modified, execution_id, attempt))


def _flexible_window(conf: dict[str, Any] | None) -> timedelta | None:
    if not conf or conf.get("Mode") != "FLEXIBLE":
        return None
    return timedelta(minutes=int(conf.get("MaximumWindowInMinutes") or 0))
