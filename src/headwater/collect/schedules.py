"""A collection schedule as the API accepts it: parsed and validated, every error at once.

Pure domain (no AWS SDK): the handler turns ``InvalidSchedule.errors`` into one 400 listing all
of them, each ``{path, rule, message}`` like records' validation errors and connectors'
``ParamError`` (the same class is reused).

Fields of ``POST /schedules``:

- ``name``: ``^[a-z0-9][a-z0-9_-]{0,44}$``, 45 characters at most so ``c-<16 hex>-<name>`` fits the
  Scheduler's 64-character names (``schedule_store``);
- ``source``: a registered connector; ``params``: checked against that connector's own schema
  (``validate_params``: every error, paths under ``params``);
- ``account``: 1 to 128 printable characters (no control characters: it reaches logs and keys),
  matching the connector's ``account_pattern`` when it declares one (Meta: ``act_<digits>``);
- ``expression``: ``rate()``, AWS ``cron()`` or ``at()`` (``headwater.schedule_expressions``),
  ``time_zone`` an IANA name (default ``UTC``), ``start``/``end`` RFC 3339 with an offset;
- ``connection``: required if and only if the connector ``requires_connection``; that it is one
  of the caller's own connections is the handler's check (it needs Secrets Manager);
- ``enabled``: a JSON boolean, default true.

Rules beyond the syntax, so nothing is created that AWS would refuse or that would never run:

- a recurring schedule fires at most once per ``min_interval`` (the module's
  ``COLLECT_MIN_INTERVAL_MINUTES``): the smallest gap between two consecutive fires, on the
  wall clock (``schedule_expressions.minimum_interval``: ``rate(5 minutes)`` is 5 minutes,
  ``cron(* * * * ? *)`` 1 minute, ``cron(0 8,9 * * ? *)`` 1 hour). A DST change can shorten one
  gap a year by the shift (usually an hour); that is accepted;
- ``at()`` must name a future moment in its time zone, and any schedule must fire at least once
  between now, ``start`` and ``end`` (``end`` after ``start``);
- a ``start`` given in a request may not be more than 5 minutes in the past: CreateSchedule
  refuses it ("The StartDate you specify cannot be earlier than 5 minutes ago.").

``PATCH`` changes ``expression``, ``time_zone``, ``start``, ``end``, ``params``, ``enabled`` and
``connection`` (``null`` clears start, end and connection); ``name``, ``source`` and ``account``
identify what is collected and cannot change (delete and create instead; sending their current
value is harmless); any other field is unknown. The merged schedule is validated as a whole,
with the same rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from headwater import schedule_expressions
from headwater.collect.connectors import registry
from headwater.collect.connectors.base import Connector, ParamError, validate_params

NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,44}$"
CONNECTION_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
MAX_ACCOUNT = 128
DEFAULT_TIME_ZONE = "UTC"
# CreateSchedule refuses a StartDate "earlier than 5 minutes ago".
START_GRACE = timedelta(minutes=5)
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})")

FIELDS = (
    "name",
    "source",
    "account",
    "expression",
    "time_zone",
    "start",
    "end",
    "params",
    "connection",
    "enabled",
)
REQUIRED = ("name", "source", "account", "expression")
PATCHABLE = ("expression", "time_zone", "start", "end", "params", "enabled", "connection")
IMMUTABLE = ("name", "source", "account")

FieldError = ParamError  # one error shape for the whole collect API


@dataclass(frozen=True)
class Schedule:
    """A valid schedule's settings (what the API shows, what the Scheduler stores)."""

    name: str
    source: str
    account: str
    expression: str
    time_zone: str = DEFAULT_TIME_ZONE
    start: datetime | None = None
    end: datetime | None = None
    params: dict[str, Any] = field(default_factory=dict)
    connection: str | None = None
    enabled: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source": self.source,
            "account": self.account,
            "connection": self.connection,
            "expression": self.expression,
            "time_zone": self.time_zone,
            "start": rfc3339(self.start),
            "end": rfc3339(self.end),
            "params": self.params,
            "enabled": self.enabled,
        }


class InvalidSchedule(ValueError):
    """400: ``errors`` holds every problem of the request, sorted by path."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = sorted(set(errors), key=lambda e: (e.path, e.rule, e.message))
        super().__init__(f"{len(self.errors)} error(s) in the schedule")
        self.message = str(self)


@dataclass(frozen=True)
class Rules:
    """What the environment decides: the minimum interval, and the clock."""

    min_interval: timedelta
    now: datetime
    # None: the registry, looked up at call time (``registry.get``).
    connectors: Callable[[str], Connector] | None = None

    def connector(self, name: str) -> Connector:
        return (self.connectors or registry.get)(name)


def rfc3339(moment: datetime | None) -> str | None:
    """UTC with ``Z``, whole seconds (the Scheduler keeps seconds)."""
    if moment is None:
        return None
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_moment(path: str, value: Any, errors: list[FieldError]) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str) or not RFC3339.fullmatch(value):
        errors.append(
            FieldError(
                path, "format", "an RFC 3339 date-time with offset, e.g. 2026-12-02T06:00:00Z"
            )
        )
        return None
    try:
        return datetime.fromisoformat(value.upper().replace("Z", "+00:00")).astimezone(UTC)
    except ValueError as exc:
        errors.append(FieldError(path, "format", f"not a valid date-time: {exc}"))
        return None


def _string(path: str, value: Any, pattern: str, errors: list[FieldError]) -> str | None:
    if not isinstance(value, str):
        errors.append(FieldError(path, "type", f"a string matching {pattern}"))
        return None
    if not re.fullmatch(pattern, value):
        errors.append(FieldError(path, "pattern", f"{value!r} does not match {pattern}"))
        return None
    return value


def _account(value: Any, errors: list[FieldError]) -> str | None:
    if not isinstance(value, str):
        errors.append(FieldError("account", "type", "a string of 1 to 128 printable characters"))
        return None
    if not 1 <= len(value) <= MAX_ACCOUNT:
        errors.append(FieldError("account", "length", f"1 to {MAX_ACCOUNT} characters"))
        return None
    if not value.isprintable():
        errors.append(FieldError("account", "printable", "no control or non-printable characters"))
        return None
    return value


def _unknown(body: Mapping[str, Any], known: tuple[str, ...]) -> list[FieldError]:
    return [
        FieldError(str(name), "additionalProperties", "unknown field")
        for name in body
        if name not in known
    ]


def _object(body: Any) -> Mapping[str, Any]:
    if not isinstance(body, dict):
        raise InvalidSchedule([FieldError("", "type", "the body must be a JSON object")])
    return body


def parse_create(body: Any, rules: Rules) -> Schedule:
    """The schedule a ``POST /schedules`` body describes, or InvalidSchedule with every error."""
    body = _object(body)
    errors = _unknown(body, FIELDS)
    errors += [FieldError(n, "required", f"{n!r} is required") for n in REQUIRED if n not in body]
    values = _fields(body, errors)
    if errors:
        # Check what can still be checked, so one answer lists as much as possible.
        errors += _consistency(values, rules, start_given="start" in body)
        raise InvalidSchedule(errors)
    schedule = Schedule(**values)
    errors = _consistency(values, rules, start_given="start" in body)
    if errors:
        raise InvalidSchedule(errors)
    return schedule


def apply_patch(current: Schedule, body: Any, rules: Rules) -> Schedule:
    """``current`` with a ``PATCH`` body's changes, validated as a whole."""
    body = _object(body)
    errors = _unknown(body, FIELDS)
    errors += [
        FieldError(n, "readOnly", f"{n!r} cannot be changed; delete and create the schedule")
        for n in IMMUTABLE
        # The same value sent back (a client PATCHing what it read) changes nothing: allowed.
        if n in body and body[n] != getattr(current, n)
    ]
    merged = {
        "name": current.name,
        "source": current.source,
        "account": current.account,
        "expression": current.expression,
        "time_zone": current.time_zone,
        "start": rfc3339(current.start),
        "end": rfc3339(current.end),
        "params": current.params,
        "connection": current.connection,
        "enabled": current.enabled,
    }
    merged.update({k: v for k, v in body.items() if k in PATCHABLE})
    values = _fields(merged, errors)
    errors += _consistency(values, rules, start_given="start" in body)
    if errors:
        raise InvalidSchedule(errors)
    return replace(current, **values)


def _fields(body: Mapping[str, Any], errors: list[FieldError]) -> dict[str, Any]:
    """Each field on its own; a field in error is left out of the result."""
    values: dict[str, Any] = {}
    if "name" in body and (name := _string("name", body["name"], NAME_PATTERN, errors)):
        values["name"] = name
    if "source" in body:
        if isinstance(body["source"], str):
            values["source"] = body["source"]  # checked against the registry in _consistency
        else:
            errors.append(FieldError("source", "type", "a connector name (string)"))
    if "account" in body and (account := _account(body["account"], errors)):
        values["account"] = account
    if "expression" in body:
        try:
            schedule_expressions.parse(body["expression"])
            values["expression"] = body["expression"].strip()
        except schedule_expressions.ScheduleExpressionError as exc:
            errors.append(FieldError("expression", "syntax", str(exc)))
    time_zone = body.get("time_zone", DEFAULT_TIME_ZONE)
    if not isinstance(time_zone, str):
        errors.append(FieldError("time_zone", "type", "an IANA time zone name (string)"))
    else:
        try:
            schedule_expressions.zone(time_zone)
            values["time_zone"] = time_zone
        except schedule_expressions.ScheduleExpressionError as exc:
            errors.append(FieldError("time_zone", "timezone", str(exc)))
    for name in ("start", "end"):
        before = len(errors)
        moment = _parse_moment(name, body.get(name), errors)
        if len(errors) == before:
            values[name] = moment
    params = body.get("params", {})
    if params is None:
        params = {}
    values["params"] = params  # checked against the connector's schema in _consistency
    connection = body.get("connection")
    if connection is None:
        values["connection"] = None
    elif _string("connection", connection, CONNECTION_PATTERN, errors):
        values["connection"] = connection
    enabled = body.get("enabled", True)
    if isinstance(enabled, bool):
        values["enabled"] = enabled
    else:
        errors.append(FieldError("enabled", "type", "true or false"))
    return values


def _consistency(values: Mapping[str, Any], rules: Rules, *, start_given: bool) -> list[FieldError]:
    """Rules across fields, on whatever parsed: connector and params, timing, connection."""
    errors: list[FieldError] = []
    if "source" in values:
        try:
            connector = rules.connector(values["source"])
        except registry.UnknownConnector as exc:
            errors.append(FieldError("source", "enum", str(exc)))
        else:
            errors += validate_params(connector, values.get("params", {}))
            pattern = connector.account_pattern
            account = values.get("account")
            if pattern and isinstance(account, str) and not re.fullmatch(pattern, account):
                errors.append(
                    FieldError(
                        "account",
                        "pattern",
                        f"connector {connector.name!r} accounts match {pattern}",
                    )
                )
            if "connection" in values:
                if connector.requires_connection and values["connection"] is None:
                    errors.append(
                        FieldError(
                            "connection",
                            "required",
                            f"connector {connector.name!r} needs a connection (a stored token)",
                        )
                    )
                if not connector.requires_connection and values["connection"] is not None:
                    errors.append(
                        FieldError(
                            "connection",
                            "notAllowed",
                            f"connector {connector.name!r} uses no connection",
                        )
                    )
    start, end = values.get("start"), values.get("end")
    if start_given and start is not None and start < rules.now - START_GRACE:
        errors.append(
            FieldError("start", "past", "start may not be more than 5 minutes in the past")
        )
    if start is not None and end is not None and end <= start:
        errors.append(FieldError("end", "afterStart", "end must be after start"))
    if "expression" in values:
        errors += _timing(values, rules)
    return errors


def _timing(values: Mapping[str, Any], rules: Rules) -> list[FieldError]:
    expression = values["expression"]
    parsed = schedule_expressions.parse(expression)
    interval = schedule_expressions.minimum_interval(parsed)
    if interval is not None and interval < rules.min_interval:
        minutes = int(rules.min_interval.total_seconds() // 60)
        return [
            FieldError(
                "expression",
                "minInterval",
                f"fires every {_minutes(interval)} at the shortest; the minimum is {minutes} "
                "minute(s)",
            )
        ]
    if not all(name in values for name in ("time_zone", "start", "end")):
        return []  # when they fire cannot be told: their own errors are reported
    start, end = values["start"], values["end"]
    if end is not None and start is not None and end <= start:
        return []  # already reported
    fires = schedule_expressions.next_fire_times(
        parsed, rules.now, values["time_zone"], start=start, end=end
    )
    if fires:
        return []
    if isinstance(parsed, schedule_expressions.At):
        return [
            FieldError(
                "expression",
                "future",
                f"{expression} in {values['time_zone']} is not in the future"
                + (" (or not between start and end)" if start or end else ""),
            )
        ]
    return [FieldError("expression", "neverFires", "the schedule never fires between now and end")]


def _minutes(interval: timedelta) -> str:
    return f"{int(interval.total_seconds() // 60)} minute(s)"
