"""The local EventBridge Scheduler: reads schedules from the emulator and fires the due ones.

The runner starts it (``Runner(schedules=True)``, the daemon's runner). Every ``refresh_interval``
seconds it lists the schedules of every group (ListSchedules, then GetSchedule for the
expression and target, which the listing lacks) and re-plans those that changed; every ``tick``
seconds it fires those whose fire time has come on the injected ``clock``, so tests advance a
fake clock instead of sleeping for minutes. A due schedule fires once, even if several fires
were missed (the daemon was stopped, the clock jumped): the local mode does not replay them.

A fire is a delivery (``delivery``: the execution role, the function, the dead-letter event);
a delivery that fails with a retryable error is retried here, with exponential backoff
(``model.backoff``) on the injected clock, until the schedule's RetryPolicy runs out.

Non-Lambda targets are logged once and not fired.

With an ``events`` client it also fires the default bus's EventBridge rules that have a schedule
expression (``rules``), read at the same refreshes (ListRules, ListTargetsByRule).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from headwater.local.iam.service_roles import ServiceRoles
from headwater.local.scheduler.delivery import Deliverer, Delivery, Failure, new_execution_id
from headwater.local.scheduler.model import Schedule, backoff
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
        self._deliverer = Deliverer(invoke_event, roles, sqs)
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
        failure = self._deliverer.deliver(delivery)
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
        self._deliverer.dead_letter(delivery, failure, condition)
        return failure

    def _delete(self, schedule: Schedule) -> None:
        # ActionAfterCompletion=DELETE: once it has invoked its target for the last time the
        # schedule is deleted, from the emulator too (already gone is fine).
        with contextlib.suppress(self._client.exceptions.ResourceNotFoundException):
            self._client.delete_schedule(Name=schedule.name, GroupName=schedule.group)
        with self._lock:
            self._planned.pop((schedule.group, schedule.name), None)
        log.info("schedule %s/%s completed and deleted", schedule.group, schedule.name)
