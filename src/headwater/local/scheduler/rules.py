"""EventBridge rules with a schedule expression, as the local mode fires them.

moto stores such rules and never fires them. A rule of the default bus whose ScheduleExpression
is ``rate()`` or ``cron()`` fires in UTC ("All scheduled events use UTC+0 time zone", EventBridge
user guide, "Creating a rule that runs on a schedule"; rules have no time zone and no ``at()``),
and only while ENABLED. Each Lambda target receives AWS's scheduled event::

    {"version": "0", "id": "...", "detail-type": "Scheduled Event", "source": "aws.events",
     "account": "123456789012", "time": "2015-10-08T16:53:06Z", "region": "us-east-1",
     "resources": ["arn:aws:events:us-east-1:123456789012:rule/my-scheduled-rule"], "detail": {}}

(the example of the Lambda developer guide, "Using Lambda with scheduled events"), or what the
target's Input / InputPath / InputTransformer make of it, computed by the same function as the
emulator's rule deliveries (``moto_patches.events.target_payload``).

A rate rule fires one interval after the local mode first sees it, then every interval: AWS does
not document the phase of a rate rule, only the interval. Other target types are logged and not
fired; the targets' RetryPolicy and DeadLetterConfig are not applied (EventBridge invokes Lambda
asynchronously, so the runner's asynchronous invocation, with Lambda's two retries, follows).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from headwater import schedule_expressions as expressions
from headwater.local.moto_patches.events import target_payload
from headwater.local.scheduler.model import iso_utc


@dataclass(frozen=True)
class RuleTarget:
    id: str
    arn: str
    input: str | None = None
    input_path: str | None = None
    input_transformer: tuple[tuple[str, Any], ...] | None = None  # frozen form of the dict

    @classmethod
    def from_api(cls, conf: dict[str, Any]) -> RuleTarget:
        transformer = conf.get("InputTransformer")
        return cls(
            conf["Id"],
            conf["Arn"],
            conf.get("Input"),
            conf.get("InputPath"),
            tuple(sorted((k, json.dumps(v)) for k, v in transformer.items()))
            if transformer
            else None,
        )

    @property
    def lambda_target(self) -> bool:
        return self.arn.split(":")[2:3] == ["lambda"]

    def as_api(self) -> dict[str, Any]:
        conf: dict[str, Any] = {"Id": self.id, "Arn": self.arn}
        if self.input is not None:
            conf["Input"] = self.input
        if self.input_path:
            conf["InputPath"] = self.input_path
        if self.input_transformer:
            conf["InputTransformer"] = {k: json.loads(v) for k, v in self.input_transformer}
        return conf


@dataclass(frozen=True)
class ScheduledRule:
    """What decides when and how a rule fires; equality decides a re-plan."""

    name: str
    arn: str
    expression: str
    enabled: bool
    targets: tuple[RuleTarget, ...]

    @classmethod
    def from_api(cls, rule: dict[str, Any], targets: list[dict[str, Any]]) -> ScheduledRule:
        """From a ListRules entry and the rule's ListTargetsByRule targets."""
        return cls(
            rule["Name"],
            rule["Arn"],
            rule["ScheduleExpression"],
            rule.get("State", "ENABLED") == "ENABLED",
            tuple(RuleTarget.from_api(t) for t in targets),
        )

    @property
    def region(self) -> str:
        return self.arn.split(":")[3]

    @property
    def account(self) -> str:
        return self.arn.split(":")[4]

    def upcoming(self, after: datetime, anchor: datetime) -> datetime | None:
        """The first fire strictly after ``after``; a rate counts its intervals from ``anchor``
        (when the local mode first saw the rule), which is not itself a fire. None when
        disabled. Raises ScheduleExpressionError for ``at()``, which rules do not take."""
        if not self.enabled:
            return None
        parsed = expressions.parse(self.expression)
        if isinstance(parsed, expressions.At):
            raise expressions.ScheduleExpressionError("rules take rate() or cron(), not at()")
        start = None
        if isinstance(parsed, expressions.Rate):
            start = anchor + parsed.interval
        fires = expressions.next_fire_times(parsed, after, "UTC", start)
        return fires[0] if fires else None

    def event(self, fired: datetime, event_id: str | None = None) -> dict[str, Any]:
        """AWS's scheduled event for a fire at ``fired``."""
        return {
            "version": "0",
            "id": event_id or str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": self.account,
            "time": iso_utc(fired),
            "region": self.region,
            "resources": [self.arn],
            "detail": {},
        }

    def payload(self, target: RuleTarget, event: dict[str, Any]) -> Any:
        """What ``target`` receives for ``event``: Input (parsed), InputPath's selection, the
        InputTransformer's output (parsed when JSON), or the whole event."""
        chosen = target_payload(target.as_api(), event)
        if chosen is None:
            return event
        if isinstance(chosen, str):
            try:
                return json.loads(chosen)
            except ValueError:
                return chosen  # an InputTransformer's plain-text template
        return chosen
