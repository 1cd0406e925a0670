"""One collector run: a schedule's job -> facts in DynamoDB, the checkpoint moved forward.

The Scheduler (or run-now) invokes the collector asynchronously with the schedule's input, ids
and settings only (``parse_job``). A run

1. looks up the connector and checks the params against its schema (a clear error before any
   secret is read or any fact written);
2. plans the windows from the checkpoint (``windows.plan``) at the scheduled time, so a retry
   hours later collects what the scheduled run would have; a range beyond the maximum backfill
   is skipped and logged as a warning with its days;
3. if there is a window to collect and the connector needs credentials, reads the schedule
   owner's: only the secret ``<prefix><job.subscriber>/<job.connection>``, whose ``source``
   must be the job's; the token goes to the connector and nowhere else (never logged, never
   returned);
4. for each window, oldest first: writes its facts (``facts.to_item``; BatchWriteItem through
   ``batch_writer(overwrite_by_pkeys=KEY_FIELDS)``, which keeps the last fact of a key as
   separate puts would) and only then moves the checkpoint to the window's end. A failure after
   3 of 5 windows leaves the checkpoint after window 3: the retry resumes at window 4, and a
   window written but not checkpointed is rewritten with the same keys (overwritten, never
   duplicated).

Every failure raises after it is logged: Lambda's asynchronous retries, then the on-failure
destination (and its alarm), see it. Its message has the token masked, since the raised error
itself reaches the function's log and the failure destination.
"""

from __future__ import annotations

import json
import logging
import re
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import quote, quote_plus

from headwater.collect import checkpoints, facts, windows
from headwater.collect.connectors import registry
from headwater.collect.connectors.base import Connector, resolved_params

# The Scheduler target's input (collect contract); "trigger" is set by run-now only.
REQUIRED = ("subscriber", "schedule", "schedule_id", "source", "account", "scheduled_time")
OPTIONAL = ("connection", "params", "trigger")
CONNECTION_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
MASK = "***"


class InvalidJob(ValueError):
    """The invocation's input is not a schedule's job; the message names every problem."""


class CollectError(RuntimeError):
    """A run failed; the message says where, with any credential masked."""


@dataclass(frozen=True)
class Job:
    subscriber: str
    schedule: str
    schedule_id: str
    source: str
    account: str
    connection: str | None
    params: Mapping[str, Any]
    scheduled_time: datetime
    trigger: str | None = None

    def log_fields(self) -> dict[str, Any]:
        """What identifies the run in every log line (ids only: no params, no token)."""
        return {
            "subscriber": self.subscriber,
            "schedule": self.schedule,
            "schedule_id": self.schedule_id,
            "source": self.source,
        }


@dataclass(frozen=True)
class Policy:
    """How far a run reaches back (the collector's environment, see ``windows.plan``)."""

    lag_days: int = 1
    max_backfill_days: int = 30
    initial_days: int = 7
    retention_days: int = 0  # > 0: facts get the TTL attribute expires_at = day + N days

    def __post_init__(self) -> None:
        if self.retention_days < 0:
            raise ValueError(f"retention_days must be 0 or more, not {self.retention_days}")
        # plan() checks the others; checking here fails a misconfigured function on every run
        # with the same clear message, not only on runs that happen to reach the check.
        windows.plan(None, datetime(2000, 1, 1, tzinfo=UTC), **self.plan_args())

    def plan_args(self) -> dict[str, int]:
        return {
            "lag_days": self.lag_days,
            "max_backfill_days": self.max_backfill_days,
            "initial_days": self.initial_days,
        }


@dataclass
class Summary:
    """What a run did, for its log line, metrics and invocation result."""

    windows: int = 0
    facts: int = 0
    checkpoint: date | None = None
    skipped: windows.Window | None = None
    collected: list[str] = field(default_factory=list)  # window starts, oldest first

    @property
    def skipped_days(self) -> int:
        return 0 if self.skipped is None else len(self.skipped)

    def as_dict(self) -> dict[str, Any]:
        return {
            "windows": self.windows,
            "facts": self.facts,
            "checkpoint": None if self.checkpoint is None else self.checkpoint.isoformat(),
            "skipped": None
            if self.skipped is None
            else {
                "start": self.skipped.start.isoformat(),
                "end": self.skipped.end.isoformat(),
                "days": self.skipped_days,
            },
        }


def _text(event: Mapping[str, Any], name: str, problems: list[str]) -> str:
    value = event.get(name)
    if not isinstance(value, str) or not value:
        problems.append(f"{name}: a non-empty string is required")
        return ""
    return value


def _instant(value: str, problems: list[str]) -> datetime | None:
    try:
        # Python 3.11+ reads the Scheduler's "2026-12-02T06:00:00Z" (and offsets) directly.
        instant = datetime.fromisoformat(value)
    except ValueError:
        problems.append(f"scheduled_time: {value!r} is not an RFC 3339 time")
        return None
    if instant.tzinfo is None:
        problems.append(f"scheduled_time: {value!r} has no offset (e.g. Z)")
        return None
    return instant


def parse_job(event: Any) -> Job:
    """The job of a Scheduler input (or run-now's); InvalidJob lists every problem."""
    if not isinstance(event, Mapping):
        raise InvalidJob("the input must be a JSON object (the schedule's target input)")
    problems: list[str] = []
    unknown = sorted(set(event) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        problems.append(f"unknown field(s) {unknown}")
    text = {name: _text(event, name, problems) for name in REQUIRED}
    subscriber = text["subscriber"]
    if subscriber and ("/" in subscriber or facts.SEPARATOR in subscriber):
        # "/" would let one subscriber's name address another's secret path.
        problems.append("subscriber: must not contain '/' or '#'")
    if text["schedule_id"]:
        try:
            uuid.UUID(text["schedule_id"])
        except ValueError:
            problems.append("schedule_id: not a UUID")
    connection = event.get("connection")
    if connection is not None and (
        not isinstance(connection, str) or not CONNECTION_NAME.match(connection)
    ):
        problems.append(f"connection: must match {CONNECTION_NAME.pattern} or be null")
    params = event.get("params")
    if params is None:
        params = {}
    elif not isinstance(params, Mapping):
        problems.append("params: a JSON object is required")
    trigger = event.get("trigger")
    if trigger is not None and not isinstance(trigger, str):
        problems.append("trigger: a string is required")
    scheduled = _instant(text["scheduled_time"], problems) if text["scheduled_time"] else None
    if problems or scheduled is None:
        raise InvalidJob("invalid collector input: " + "; ".join(problems))
    return Job(
        subscriber=subscriber,
        schedule=text["schedule"],
        schedule_id=text["schedule_id"],
        source=text["source"],
        account=text["account"],
        connection=connection,
        params=params,
        scheduled_time=scheduled,
        trigger=trigger,
    )


def secret_name(prefix: str, job: Job) -> str:
    """The only secret a job may read: its owner's connection."""
    if job.connection is None:
        raise CollectError(f"connector {job.source!r} needs a connection; the schedule names none")
    return f"{prefix}{job.subscriber}/{job.connection}"


def read_credentials(secrets: Any, prefix: str, job: Job) -> dict[str, str]:
    """``{"token": ...}`` from the owner's connection secret, checked against the job's source.

    Errors name the secret, never its value: a parse error's text is not chained.
    """
    name = secret_name(prefix, job)
    try:
        response = secrets.get_secret_value(SecretId=name)
    except secrets.exceptions.ResourceNotFoundException:
        raise CollectError(
            f"connection {job.connection!r} of subscriber {job.subscriber!r} does not exist"
        ) from None
    try:
        stored = json.loads(response["SecretString"])
    except (KeyError, TypeError, ValueError):
        stored = None
    if not isinstance(stored, dict) or not isinstance(stored.get("token"), str):
        raise CollectError(f"secret {name!r} is not a connection (JSON with a token)") from None
    if stored.get("source") != job.source:
        raise CollectError(
            f"connection {job.connection!r} is for source {stored.get('source')!r}, "
            f"not {job.source!r}"
        )
    return {"token": stored["token"]}


def expires_at(day: date, retention_days: int) -> int:
    """The TTL: epoch seconds of the fact's day (UTC midnight) plus the retention."""
    start = datetime.combine(day, time(0), tzinfo=UTC)
    return int((start + timedelta(days=retention_days)).timestamp())


def write_window(
    table: Any,
    job: Job,
    connector: Connector,
    window: windows.Window,
    params: Mapping[str, Any],
    credentials: Mapping[str, str] | None,
    retention_days: int,
) -> int:
    """Fetch one window and write its facts; the batch is flushed before this returns."""
    count = 0
    with table.batch_writer(overwrite_by_pkeys=facts.KEY_FIELDS) as batch:
        for fact in connector.fetch(job.account, window, params, credentials):
            item = facts.to_item(job.subscriber, job.source, fact)
            if retention_days > 0:
                item["expires_at"] = expires_at(fact.day, retention_days)
            batch.put_item(Item=item)
            count += 1
    return count


def _masked(text: str, secret: str | None) -> str:
    """``text`` without ``secret``, as given or percent-encoded (as a request URL quotes it)."""
    if not secret:
        return text
    for form in (secret, quote(secret, safe=""), quote_plus(secret)):
        text = text.replace(form, MASK)
    return text


def run(
    job: Job,
    now: datetime,
    *,
    facts_table: Any,
    state_table: Any,
    secrets: Any,
    secret_prefix: str,
    policy: Policy,
    logger: Any = None,
    connectors: Callable[[str], Connector] = registry.get,
) -> Summary:
    """Collect what the job's schedule has not collected yet, oldest window first."""
    log = logger or logging.getLogger(__name__)
    fields = job.log_fields()
    summary = Summary()
    token: str | None = None
    try:
        connector = connectors(job.source)
        params = resolved_params(connector, job.params)
        checkpoint = checkpoints.get(state_table, job.schedule_id)
        # Never past now: a scheduled time ahead of the clock would take an incomplete day as
        # complete and move the checkpoint past it for good.
        at = min(job.scheduled_time, now)
        plan = windows.plan(checkpoint, at, **policy.plan_args())
        summary.checkpoint, summary.skipped = checkpoint, plan.skipped
        if plan.skipped is not None:
            log.warning(
                "collect: days beyond the maximum backfill skipped",
                extra={
                    **fields,
                    "skipped_start": plan.skipped.start.isoformat(),
                    "skipped_end": plan.skipped.end.isoformat(),
                    "skipped_days": len(plan.skipped),
                    "max_backfill_days": policy.max_backfill_days,
                },
            )
        credentials = None
        if connector.requires_connection and plan.windows:
            # Read only when there is something to fetch: a token is held no longer than needed.
            credentials = read_credentials(secrets, secret_prefix, job)
            token = credentials["token"]
        for window in plan.windows:
            summary.facts += write_window(
                facts_table, job, connector, window, params, credentials, policy.retention_days
            )
            if not checkpoints.advance(state_table, job.schedule_id, window.end, now):
                log.info(
                    "collect: checkpoint already ahead (a newer run got further)",
                    extra={**fields, "window_end": window.end.isoformat()},
                )
            summary.windows += 1
            summary.checkpoint = window.end
            summary.collected.append(window.start.isoformat())
    except Exception as exc:
        message = _masked(f"{type(exc).__name__}: {exc}", token)
        # Frames only (file, line, code): an exception's text can quote a request URL.
        where = "".join(traceback.format_tb(exc.__traceback__))
        log.error(
            "collect failed",
            extra={**fields, "error": message, "where": where, **summary.as_dict()},
        )
        if token is None:
            raise  # no credential was read, so none can be in the message
        raise CollectError(message) from None
    return summary
