"""The local EventBridge Scheduler: reads schedules from the emulator and fires the due ones.

The runner starts it (``Runner(schedules=True)``, the daemon's runner). Every ``refresh_interval``
seconds it lists the schedules of every group (ListSchedules, then GetSchedule for the
expression and target, which the listing lacks) and re-plans those that changed; every ``tick``
seconds it fires those whose fire time has come on the injected ``clock``, so tests advance a
fake clock instead of sleeping for minutes. A due schedule fires once, even if several fires
were missed (the daemon was stopped, the clock jumped): the local mode does not replay them.

Delivery, as on AWS: "EventBridge Scheduler invokes your Lambda function asynchronously" (Lambda
developer guide, "Using Lambda with Amazon EventBridge Scheduler"). So a fire *delivers* the
event: the schedule's execution role must allow lambda:InvokeFunction on the target (checked by
the local IAM checks, ``headwater.local.iam.service_roles``) and the function must exist; then
the runner queues an asynchronous invocation (``invoke_event``), and what the function does with
it (errors, Lambda's two asynchronous retries) is Lambda's business, not the Scheduler's.

A delivery that fails is what the schedule's RetryPolicy and DeadLetterConfig are about. As for
EventBridge targets ("for errors that result from missing permissions to a target, or if a
target resource that no longer exists, no retry attempts will happen", EventBridge user guide,
"Using dead-letter queues"), an AccessDenied, a missing function or a payload Lambda cannot parse
is permanent: straight to the DLQ, with no EXHAUSTED_RETRY_CONDITION. Any other failure is
retried with exponential backoff (``model.backoff``, on the injected clock) until
MaximumRetryAttempts or MaximumEventAgeInSeconds runs out, then dead-lettered with the condition
that ran out. The dead-letter event (``headwater.schedule_dlq.attributes``) is sent with the
execution role, which must allow sqs:SendMessage on the queue; without a DLQ, or when that send
is denied, the event is dropped and logged, as AWS drops it.

Non-Lambda targets are logged once and not fired.

With an ``events`` client it also fires the default bus's EventBridge rules that have a schedule
expression (``rules``), read at the same refreshes (ListRules, ListTargetsByRule).
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from headwater import schedule_dlq
from headwater.local.iam.service_roles import ServiceRoles
from headwater.local.scheduler.model import Schedule, backoff, iso_utc
from headwater.local.scheduler.rules import ScheduledRule
from headwater.schedule_expressions import ScheduleExpressionError

log = logging.getLogger("headwater.local.scheduler")

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Planned:
    schedule: Schedule
    due: datetime | None


@dataclass
class PlannedRule:
    rule: ScheduledRule
    anchor: datetime  # when first seen (or last changed): a rate rule's intervals count from it
    due: datetime | None


@dataclass(frozen=True)
class Delivery:
    """One fire of a schedule, through its attempts."""

    schedule: Schedule
    scheduled: datetime  # the fire time: SCHEDULED_TIME and <aws.scheduler.scheduled-time>
    execution_id: str
    retries_done: int = 0
    due: datetime | None = None  # when the next retry is due (None: now)

    @property
    def attempt(self) -> int:
        return self.retries_done + 1


@dataclass(frozen=True)
class Failure:
    """A delivery that did not happen: the target service's error code and message."""

    code: str
    message: str
    retryable: bool


# "If the schedule fails to invoke a target due to an issue with EventBridge Scheduler, you'll
# see the following error code instead: AWS.Scheduler.InternalServerError" ... "Unexpected error
# occurred while processing the request" (Scheduler user guide, "Configuring a schedule's
# dead-letter queue").
INTERNAL_ERROR = (
    "AWS.Scheduler.InternalServerError",
    "Unexpected error occurred while processing the request",
)


def new_execution_id() -> str:
    return secrets.token_hex(8)  # AWS's example: d32c5kddcf5bb8c3 (16 characters)


class Scheduler:
    def __init__(
        self,
        client: Any,
        invoke_event: Callable[[str, Any], None],
        *,
        roles: ServiceRoles | None = None,
        sqs: Any = None,
        events: Any = None,
        clock: Clock = utc_now,
        refresh_interval: float = 2.0,
        tick: float = 1.0,
        retry_base: float = 1.0,
        retry_cap: float = 60.0,
    ) -> None:
        self._client = client  # a boto3 "scheduler" client for the emulator
        # Queues an asynchronous invocation; raises LookupError when there is no such function.
        self._invoke_event = invoke_event
        self._roles = roles  # None: no IAM checks
        self._sqs = sqs  # a boto3 "sqs" client for dead-letter events
        self._events = events  # a boto3 "events" client: rules with a schedule (None: none)
        self._rules: dict[str, PlannedRule] = {}
        self._warned: set[tuple[str, str]] = set()
        self.clock = clock
        self.refresh_interval = refresh_interval
        self.tick = tick
        self.retry_base = retry_base  # seconds before the first retry, doubled for each next
        self.retry_cap = retry_cap
        self._lock = threading.Lock()
        self._planned: dict[tuple[str, str], Planned] = {}
        self._retries: list[Delivery] = []
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def planned(self) -> dict[tuple[str, str], Planned]:
        """Every schedule known, by (group, name), with its next fire time (tests, status)."""
        with self._lock:
            return dict(self._planned)

    def _loop(self) -> None:
        last_refresh = float("-inf")
        elapsed = 0.0
        while not self._stopping.is_set():
            if elapsed - last_refresh >= self.refresh_interval:
                last_refresh = elapsed
                try:
                    self.refresh()
                except Exception as exc:  # emulator restarting: keep the plan, try again
                    log.warning("listing schedules failed: %s", exc)
            try:
                self.fire_due()
            except Exception:
                log.exception("firing schedules failed")
            self._stopping.wait(self.tick)
            elapsed += self.tick

    def planned_rules(self) -> dict[str, PlannedRule]:
        """Every scheduled rule known, by name, with its next fire time (tests, status)."""
        with self._lock:
            return dict(self._rules)

    def refresh(self) -> None:
        """Re-read every schedule (and scheduled rule); plan new and changed ones, forget
        deleted ones."""
        self._refresh_schedules()
        if self._events is not None:
            self._refresh_rules()

    def _refresh_rules(self) -> None:
        found: dict[str, ScheduledRule] = {}
        for page in self._events.get_paginator("list_rules").paginate():
            for conf in page["Rules"]:
                if not conf.get("ScheduleExpression"):
                    continue  # an event pattern rule: the emulator delivers those itself
                targets = self._events.list_targets_by_rule(Rule=conf["Name"])["Targets"]
                found[conf["Name"]] = ScheduledRule.from_api(conf, targets)
        now = self.clock()
        with self._lock:
            for name in list(self._rules):
                if name not in found:
                    del self._rules[name]
            for name, rule in found.items():
                current = self._rules.get(name)
                if current is not None and current.rule == rule:
                    continue
                self._rules[name] = PlannedRule(rule, now, self._rule_first_fire(rule, now))

    def _rule_first_fire(self, rule: ScheduledRule, now: datetime) -> datetime | None:
        for target in rule.targets:
            if not target.lambda_target:
                self._warn_once(
                    ("rule-target", target.arn),
                    f"rule {rule.name}: target {target.arn} is not a Lambda function; the local "
                    "mode does not fire it",
                )
        try:
            return rule.upcoming(now, now)
        except ScheduleExpressionError as exc:
            self._warn_once(("rule", rule.name), f"rule {rule.name} not fired: {exc}")
            return None

    def _warn_once(self, key: tuple[str, str], message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning("%s", message)

    def fire_rule(self, rule: ScheduledRule, fired: datetime) -> int:
        """Send the rule's scheduled event for ``fired`` to each Lambda target; returns how
        many were handed to Lambda."""
        event = rule.event(fired)
        sent = 0
        for target in rule.targets:
            if not target.lambda_target:
                continue
            try:
                self._invoke_event(target.arn, rule.payload(target, event))
            except LookupError:
                log.error("rule %s: target function %s not found", rule.name, target.arn)
                continue
            except Exception as exc:
                log.error("rule %s: delivery to %s failed: %s", rule.name, target.arn, exc)
                continue
            sent += 1
        log.info("rule %s fired (%d Lambda targets)", rule.name, sent)
        return sent

    def _refresh_schedules(self) -> None:
        found: dict[tuple[str, str], Schedule] = {}
        for page in self._client.get_paginator("list_schedules").paginate():
            for summary in page["Schedules"]:
                key = (summary["GroupName"], summary["Name"])
                try:
                    conf = self._client.get_schedule(Name=key[1], GroupName=key[0])
                except self._client.exceptions.ResourceNotFoundException:
                    continue  # deleted between the listing and now
                found[key] = Schedule.from_api(conf)
        now = self.clock()
        with self._lock:
            for key in list(self._planned):
                if key not in found:
                    del self._planned[key]
            for key, schedule in found.items():
                current = self._planned.get(key)
                if current is not None and current.schedule == schedule:
                    continue
                self._planned[key] = Planned(schedule, self._first_fire(schedule, now))

    @staticmethod
    def _first_fire(schedule: Schedule, now: datetime) -> datetime | None:
        if not schedule.lambda_target:
            log.warning(
                "schedule %s/%s: target %s is not a Lambda function; the local mode does not "
                "fire it",
                schedule.group,
                schedule.name,
                schedule.target_arn,
            )
            return None
        try:
            return schedule.first_fire(now)
        except ScheduleExpressionError as exc:
            log.warning("schedule %s/%s not fired: %s", schedule.group, schedule.name, exc)
            return None

    def retries(self) -> list[Delivery]:
        """Deliveries waiting for their next attempt (tests, status)."""
        with self._lock:
            return list(self._retries)

    def fire_due(self) -> list[Schedule]:
        """Fire every schedule due at the clock's time and make the retries that are due;
        returns the schedules fired (not the retries)."""
        now = self.clock()
        fired: list[tuple[Delivery, bool]] = []
        with self._lock:
            for planned in self._planned.values():
                if planned.due is None or planned.due > now:
                    continue
                schedule, scheduled = planned.schedule, planned.due
                planned.due = schedule.next_fire(scheduled, now)
                delivery = Delivery(schedule, scheduled, new_execution_id())
                fired.append((delivery, planned.due is None))
            due = [d for d in self._retries if d.due is not None and d.due <= now]
            self._retries = [d for d in self._retries if d not in due]
            rules: list[tuple[ScheduledRule, datetime]] = []
            for planned_rule in self._rules.values():
                if planned_rule.due is None or planned_rule.due > now:
                    continue
                rules.append((planned_rule.rule, planned_rule.due))
                # Missed fires are skipped, as for schedules.
                planned_rule.due = planned_rule.rule.upcoming(
                    max(planned_rule.due, now), planned_rule.anchor
                )
        for delivery, completed in fired:
            self.attempt(delivery)
            if completed and delivery.schedule.delete_after_completion:
                self._delete(delivery.schedule)
        for delivery in due:
            self.attempt(delivery)
        for rule, fired_at in rules:
            self.fire_rule(rule, fired_at)
        return [delivery.schedule for delivery, _ in fired]

    def attempt(self, delivery: Delivery) -> Failure | None:
        """Deliver once; on failure plan the retry or send the dead-letter event."""
        schedule = delivery.schedule
        failure = self._deliver(delivery)
        if failure is None:
            return None
        log.warning(
            "schedule %s/%s: attempt %d to deliver to %s failed: %s: %s",
            schedule.group,
            schedule.name,
            delivery.attempt,
            schedule.target_arn,
            failure.code,
            failure.message,
        )
        condition = None
        if failure.retryable:
            now = self.clock()
            retry_at = now + timedelta(
                seconds=backoff(delivery.retries_done, self.retry_base, self.retry_cap)
            )
            condition = schedule.retry_policy.exhausted(
                delivery.retries_done, delivery.scheduled, retry_at
            )
            if condition is None:
                with self._lock:
                    self._retries.append(
                        replace(delivery, retries_done=delivery.retries_done + 1, due=retry_at)
                    )
                return failure
        self._dead_letter(delivery, failure, condition)
        return failure

    def _deliver(self, delivery: Delivery) -> Failure | None:
        schedule = delivery.schedule
        payload = schedule.payload(delivery.scheduled, delivery.execution_id, delivery.attempt)
        try:
            event = json.loads(payload)
        except ValueError as exc:
            # Lambda's answer to an Invoke whose payload is not JSON.
            return Failure(
                "InvalidRequestContentException",
                f"Could not parse request body into json: {exc}",
                retryable=False,
            )
        if self._roles is not None:
            denial = self._roles.denial(
                schedule.role_arn,
                delivery.execution_id,
                "lambda:InvokeFunction",
                schedule.target_arn,
            )
            if denial is not None:
                return Failure("AccessDeniedException", denial, retryable=False)
        try:
            self._invoke_event(schedule.target_arn, event)
        except LookupError:
            return Failure(
                "ResourceNotFoundException",
                f"Function not found: {schedule.target_arn}",
                retryable=False,
            )
        except Exception as exc:
            log.warning("schedule %s/%s: runner error: %s", schedule.group, schedule.name, exc)
            return Failure(*INTERNAL_ERROR, retryable=True)
        log.info("schedule %s/%s fires %s", schedule.group, schedule.name, schedule.target_arn)
        return None

    def _dead_letter(self, delivery: Delivery, failure: Failure, condition: str | None) -> None:
        schedule = delivery.schedule
        where = f"schedule {schedule.group}/{schedule.name}"
        queue_arn = schedule.dead_letter_arn
        if not queue_arn:
            log.error("%s: event dropped (no DeadLetterConfig) after %s", where, failure.code)
            return
        if self._roles is not None:
            denial = self._roles.denial(
                schedule.role_arn, delivery.execution_id, "sqs:SendMessage", queue_arn
            )
            if denial is not None:
                log.error("%s: event dropped, cannot send it to its DLQ: %s", where, denial)
                return
        body = schedule.payload(delivery.scheduled, delivery.execution_id, delivery.attempt)
        attributes = schedule_dlq.attributes(
            error_code=failure.code,
            error_message=failure.message,
            execution_id=delivery.execution_id,
            retry_attempts=delivery.retries_done,
            scheduled_time=iso_utc(delivery.scheduled),
            schedule_arn=schedule.arn,
            # For a templated target the ARN the schedule names (the universal-target form in
            # AWS's example, arn:aws:scheduler:::aws-sdk:..., is for universal targets).
            target_arn=schedule.target_arn,
            exhausted_retry_condition=condition,
        )
        try:
            _region, account, name = queue_arn.split(":")[3:6]
            url = self._sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)
            self._sqs.send_message(
                QueueUrl=url["QueueUrl"], MessageBody=body, MessageAttributes=attributes
            )
        except Exception as exc:
            log.error("%s: event dropped, cannot send it to %s: %s", where, queue_arn, exc)
            return
        log.warning("%s: event sent to the DLQ %s (%s)", where, queue_arn, failure.code)

    def _delete(self, schedule: Schedule) -> None:
        # ActionAfterCompletion=DELETE: once it has invoked its target for the last time the
        # schedule is deleted, from the emulator too (already gone is fine).
        with contextlib.suppress(self._client.exceptions.ResourceNotFoundException):
            self._client.delete_schedule(Name=schedule.name, GroupName=schedule.group)
        with self._lock:
            self._planned.pop((schedule.group, schedule.name), None)
        log.info("schedule %s/%s completed and deleted", schedule.group, schedule.name)
