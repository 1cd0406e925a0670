"""The local EventBridge Scheduler: reads schedules from the emulator and fires the due ones.

The runner starts it (``Runner(schedules=True)``, the daemon's runner). Every ``refresh_interval``
seconds it lists the schedules of every group (ListSchedules, then GetSchedule for the
expression and target, which the listing lacks) and re-plans those that changed; every ``tick``
seconds it fires those whose fire time has come on the injected ``clock``, so tests advance a
fake clock instead of sleeping for minutes. A due schedule fires once, even if several fires
were missed (the daemon was stopped, the clock jumped): the local mode does not replay them.

A fire is an asynchronous invocation through the runner (``invoke_async``), so a failure gets
Lambda's two asynchronous retries. Scheduler's own RetryPolicy and DeadLetterConfig are not
applied, and non-Lambda targets are logged once and not fired.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from headwater.local.scheduler.model import Schedule
from headwater.schedule_expressions import ScheduleExpressionError

log = logging.getLogger("headwater.local.scheduler")

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Planned:
    schedule: Schedule
    due: datetime | None


class Scheduler:
    def __init__(
        self,
        client: Any,
        invoke_async: Callable[[str, Any], None],
        *,
        clock: Clock = utc_now,
        refresh_interval: float = 2.0,
        tick: float = 1.0,
    ) -> None:
        self._client = client  # a boto3 "scheduler" client for the emulator
        self._invoke_async = invoke_async
        self.clock = clock
        self.refresh_interval = refresh_interval
        self.tick = tick
        self._lock = threading.Lock()
        self._planned: dict[tuple[str, str], Planned] = {}
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

    def refresh(self) -> None:
        """Re-read every schedule; plan new and changed ones, forget deleted ones."""
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

    def fire_due(self) -> list[Schedule]:
        """Fire every schedule due at the clock's time; returns those fired."""
        now = self.clock()
        fired: list[tuple[Schedule, bool]] = []
        with self._lock:
            for planned in self._planned.values():
                if planned.due is None or planned.due > now:
                    continue
                schedule = planned.schedule
                planned.due = schedule.next_fire(planned.due, now)
                fired.append((schedule, planned.due is None))
        for schedule, completed in fired:
            self._fire(schedule)
            if completed and schedule.delete_after_completion:
                self._delete(schedule)
        return [schedule for schedule, _ in fired]

    def _fire(self, schedule: Schedule) -> None:
        try:
            event = schedule.event()
        except ValueError as exc:
            log.error("schedule %s/%s: Input is not JSON: %s", schedule.group, schedule.name, exc)
            return
        log.info("schedule %s/%s fires %s", schedule.group, schedule.name, schedule.target_arn)
        self._invoke_async(schedule.target_arn, event)

    def _delete(self, schedule: Schedule) -> None:
        # ActionAfterCompletion=DELETE: once it has invoked its target for the last time the
        # schedule is deleted, from the emulator too (already gone is fine).
        with contextlib.suppress(self._client.exceptions.ResourceNotFoundException):
            self._client.delete_schedule(Name=schedule.name, GroupName=schedule.group)
        with self._lock:
            self._planned.pop((schedule.group, schedule.name), None)
        log.info("schedule %s/%s completed and deleted", schedule.group, schedule.name)
