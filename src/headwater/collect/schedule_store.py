"""Collection schedules kept in EventBridge Scheduler itself: the single source of truth.

There is no table of schedules: a second copy would need two writes kept in step, and every
failure between them would leave an orphan (a schedule nobody lists) or a ghost (a listed
schedule that never fires). Here each API call is one Scheduler write:

- name on the Scheduler ``c-<first 16 hex of sha256(subscriber)>-<name>`` in the environment's
  group (``schedule_name``): names are unique per subscriber, not globally. The hash is an index
  only; every read also checks the target input's ``subscriber`` (another's: ``None``, a 404);
- create = CreateSchedule (``ConflictException`` -> ``Duplicate``, a 409); a failed create
  leaves nothing to list;
- update = GetSchedule, merge, UpdateSchedule with the whole definition (UpdateSchedule replaces
  every field it is not given), keeping the ``schedule_id``;
- delete = DeleteSchedule, then the schedule's checkpoint item (``checkpoint#<schedule_id>`` in
  the state table). That delete is the only second write. If it fails the schedule is already
  gone, so the API answers 204 and logs a warning: the leftover item belongs to a
  ``schedule_id`` no schedule has any more (a re-created schedule of the same name gets a new
  uuid4), so it is never read: no ghost. It is a few bytes; the state table's owner may sweep
  ``checkpoint#`` items whose id no schedule input names.

Per-subscriber limit (``max_schedules``, COLLECT_MAX_SCHEDULES): creating one more is a 409
(``LimitReached``): the request is valid and the same request succeeds once a schedule is
deleted, a conflict with the subscriber's current state rather than a malformed body (422).
The count is read before CreateSchedule, so concurrent creates by one subscriber can overshoot
by at most their concurrency; the Scheduler offers no conditional count.

Listing: ListSchedules(GroupName, NamePrefix) with the paginator (moto ignores MaxResults and
NextToken), sorted by name, and paged by the API itself: ``after`` is the last name of the
previous page. ListSchedules summaries carry no target input, so each schedule of the page is
read with GetSchedule (a subscriber has at most ``max_schedules``).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from headwater.collect import checkpoints
from headwater.collect.schedules import NAME_PATTERN, Schedule

NAME_PREFIX = "c-"
HASH_HEX = 16


class Duplicate(Exception):
    """409: the subscriber already has a schedule of this name."""


class LimitReached(Exception):
    """409: the subscriber already has ``max_schedules`` schedules."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"a subscriber may have {limit} schedules; delete one before creating another"
        )
        self.limit = limit


def subscriber_hash(subscriber: str) -> str:
    return hashlib.sha256(subscriber.encode()).hexdigest()[:HASH_HEX]


def name_prefix(subscriber: str) -> str:
    return f"{NAME_PREFIX}{subscriber_hash(subscriber)}-"


def schedule_name(subscriber: str, name: str) -> str:
    return name_prefix(subscriber) + name


def checkpoint_key(schedule_id: str) -> dict[str, Any]:
    """``checkpoints.key`` in the low-level client's DynamoDB JSON (this store uses the client)."""
    return {name: {"S": value} for name, value in checkpoints.key(schedule_id).items()}


@dataclass(frozen=True)
class Target:
    """The collector target every schedule shares (the module's environment)."""

    collector_arn: str
    role_arn: str
    dlq_arn: str
    retry_attempts: int = 3
    max_age_seconds: int = 86400


@dataclass(frozen=True)
class Stored:
    """A schedule as the Scheduler holds it, with whom it belongs to and when it changed."""

    schedule: Schedule
    subscriber: str
    schedule_id: str
    created: datetime | None
    updated: datetime | None

    def input(self) -> dict[str, Any]:
        """The target input: ids and settings only, never a token (``scheduled_time`` is the
        Scheduler's context attribute, replaced at each fire)."""
        return {
            "subscriber": self.subscriber,
            "schedule": self.schedule.name,
            "schedule_id": self.schedule_id,
            "source": self.schedule.source,
            "account": self.schedule.account,
            "connection": self.schedule.connection,
            "params": self.schedule.params,
            "scheduled_time": "<aws.scheduler.scheduled-time>",
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.schedule.as_dict(),
            "created": _rfc3339(self.created),
            "updated": _rfc3339(self.updated),
        }


@dataclass(frozen=True)
class Deleted:
    """A delete that found the schedule; ``checkpoint_error`` if the second write failed."""

    stored: Stored
    checkpoint_error: str | None = None


def _rfc3339(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class ScheduleStore:
    """The schedules of one environment: ``scheduler`` and ``dynamodb`` are boto3 clients."""

    def __init__(
        self,
        scheduler: Any,
        dynamodb: Any,
        *,
        group: str,
        target: Target,
        state_table: str,
        max_schedules: int,
    ) -> None:
        self._scheduler = scheduler
        self._dynamodb = dynamodb
        self._group = group
        self._target = target
        self._state_table = state_table
        self._max = max_schedules

    # ---- reads -------------------------------------------------------------------------------

    def names(self, subscriber: str) -> list[str]:
        """The subscriber's API names, sorted (from the Scheduler names: no GetSchedule)."""
        prefix = name_prefix(subscriber)
        found = []
        paginator = self._scheduler.get_paginator("list_schedules")
        for page in paginator.paginate(GroupName=self._group, NamePrefix=prefix):
            for summary in page.get("Schedules", []):
                # Filter here too: a NamePrefix the service ignored must not widen the list.
                if summary["Name"].startswith(prefix):
                    found.append(summary["Name"][len(prefix) :])
        return sorted(found)

    def get(self, subscriber: str, name: str) -> Stored | None:
        """The schedule, or None when it is missing or someone else's (both a 404)."""
        if not re.fullmatch(NAME_PATTERN, name):
            return None  # no schedule can have it (the Scheduler would refuse the name: a 400)
        try:
            raw = self._scheduler.get_schedule(
                GroupName=self._group, Name=schedule_name(subscriber, name)
            )
        except ClientError as exc:
            if _code(exc) == "ResourceNotFoundException":
                return None
            raise
        stored = self._decode(raw)
        if stored is None or stored.subscriber != subscriber or stored.schedule.name != name:
            return None
        return stored

    def list(
        self, subscriber: str, limit: int, after: str | None = None
    ) -> tuple[list[Stored], str | None]:
        """One page of at most ``limit`` schedules after the name ``after``, and the token of
        the next page (the last name returned) or None on the last page."""
        names = [n for n in self.names(subscriber) if after is None or n > after]
        page, more = names[:limit], len(names) > limit
        found = [s for s in (self.get(subscriber, n) for n in page) if s is not None]
        return found, (page[-1] if more and page else None)

    def using(self, subscriber: str, connection: str) -> list[str]:
        """The names of the subscriber's schedules whose runs read ``connection``, sorted."""
        found = (self.get(subscriber, name) for name in self.names(subscriber))
        return [s.schedule.name for s in found if s and s.schedule.connection == connection]

    # ---- writes ------------------------------------------------------------------------------

    def create(self, subscriber: str, schedule: Schedule) -> Stored:
        if len(self.names(subscriber)) >= self._max:
            raise LimitReached(self._max)
        stored = Stored(schedule, subscriber, str(uuid.uuid4()), None, None)
        try:
            self._scheduler.create_schedule(**self._definition(stored))
        except ClientError as exc:
            if _code(exc) == "ConflictException":
                raise Duplicate(f"a schedule named {schedule.name!r} exists") from None
            raise
        return self.get(subscriber, schedule.name) or stored

    def update(
        self, subscriber: str, name: str, change: Callable[[Schedule], Schedule]
    ) -> Stored | None:
        """GetSchedule, ``change`` (it may raise InvalidSchedule), UpdateSchedule with the whole
        definition; None when there is no such schedule for ``subscriber``."""
        current = self.get(subscriber, name)
        if current is None:
            return None
        updated = Stored(change(current.schedule), subscriber, current.schedule_id, None, None)
        try:
            self._scheduler.update_schedule(**self._definition(updated))
        except ClientError as exc:
            if _code(exc) == "ResourceNotFoundException":  # deleted meanwhile
                return None
            raise
        return self.get(subscriber, name)

    def delete(self, subscriber: str, name: str) -> Deleted | None:
        current = self.get(subscriber, name)
        if current is None:
            return None
        try:
            self._scheduler.delete_schedule(
                GroupName=self._group, Name=schedule_name(subscriber, name)
            )
        except ClientError as exc:
            if _code(exc) == "ResourceNotFoundException":  # deleted meanwhile
                return None
            raise
        try:
            self._dynamodb.delete_item(
                TableName=self._state_table, Key=checkpoint_key(current.schedule_id)
            )
        except Exception as exc:  # the schedule is gone whatever happens here
            return Deleted(current, f"{type(exc).__name__}: {exc}")
        return Deleted(current)

    # ---- the Scheduler's shape ---------------------------------------------------------------

    def _definition(self, stored: Stored) -> dict[str, Any]:
        schedule = stored.schedule
        definition: dict[str, Any] = {
            "GroupName": self._group,
            "Name": schedule_name(stored.subscriber, schedule.name),
            "ScheduleExpression": schedule.expression,
            "ScheduleExpressionTimezone": schedule.time_zone,
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "State": "ENABLED" if schedule.enabled else "DISABLED",
            "Target": {
                "Arn": self._target.collector_arn,
                "RoleArn": self._target.role_arn,
                # json.dumps keeps "<" and ">" as they are: the Scheduler substitutes the
                # context attribute only when it reads <aws.scheduler.scheduled-time> literally.
                "Input": json.dumps(stored.input(), separators=(",", ":")),
                "RetryPolicy": {
                    "MaximumRetryAttempts": self._target.retry_attempts,
                    "MaximumEventAgeInSeconds": self._target.max_age_seconds,
                },
                "DeadLetterConfig": {"Arn": self._target.dlq_arn},
            },
        }
        if schedule.start is not None:
            definition["StartDate"] = schedule.start
        if schedule.end is not None:
            definition["EndDate"] = schedule.end
        return definition

    @staticmethod
    def _decode(raw: dict[str, Any]) -> Stored | None:
        try:
            data = json.loads(raw["Target"]["Input"])
            schedule = Schedule(
                name=data["schedule"],
                source=data["source"],
                account=data["account"],
                expression=raw["ScheduleExpression"],
                time_zone=raw.get("ScheduleExpressionTimezone") or "UTC",
                start=_aware(raw.get("StartDate")),
                end=_aware(raw.get("EndDate")),
                params=data.get("params") or {},
                connection=data.get("connection"),
                enabled=raw.get("State", "ENABLED") == "ENABLED",
            )
            return Stored(
                schedule,
                data["subscriber"],
                data["schedule_id"],
                _aware(raw.get("CreationDate")),
                _aware(raw.get("LastModificationDate")),
            )
        except (KeyError, TypeError, ValueError):
            return None  # not one of ours (hand-made in the group): never shown


def _aware(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromtimestamp(float(value), UTC)
