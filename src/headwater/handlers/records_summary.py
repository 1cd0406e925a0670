"""Lambda entrypoint of the weekly records summary: one ISO week -> counts and Parquet on S3.

Input (an EventBridge Scheduler target's Input, or a direct invocation for a backfill):

    {}                                         the week before now's, in SUMMARY_TIME_ZONE
    {"scheduled_time": "2026-11-30T06:00:00Z"} the week before that instant's (the schedule
                                               sends <aws.scheduler.scheduled-time>, so a retry
                                               or a replay days later still picks its week)
    {"week": "2026-W48"}                       that week (wins over scheduled_time)
    "datasets": ["orders"]                     optional: these declared datasets (default all)

Thin on purpose: parse the input, call ``headwater.records.summary.summarise_week`` per dataset,
count, return a small report. Every failure raises (a bad input included), so the schedule's
retry policy, then its DLQ and alarm, see it: an error is never returned as a value.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from headwater import aws
from headwater.handlers.support.observability import observability
from headwater.handlers.support.settings import env_var, read_settings

INPUT_KEYS = frozenset({"week", "scheduled_time", "datasets"})


@dataclass(frozen=True)
class Settings:
    table: str = env_var("RECORDS_TABLE")
    bucket: str = env_var("EXPORT_BUCKET")
    prefix: str = env_var("EXPORT_PREFIX", "summaries/")
    time_zone: str = env_var("SUMMARY_TIME_ZONE", "UTC", empty_is_unset=True)
    records_dir: str | None = env_var("RECORDS_DIR", None, empty_is_unset=True)


class InvalidInput(ValueError):
    """The invocation's input is not one of the documented forms."""


@functools.cache
def _datasets(directory: str | None) -> Any:
    from headwater.records.declarations import load_record_datasets

    return load_record_datasets(directory)


@dataclass(frozen=True)
class Request:
    week: Any  # IsoWeek
    datasets: tuple[str, ...]


def parse_input(
    event: Any, tz: Any, declared: Mapping[str, Any], now: datetime | None = None
) -> Request:
    """The week and datasets an input asks for; InvalidInput names what is wrong."""
    from headwater.records.weeks import parse_week, previous_week

    if event is None:
        event = {}
    if not isinstance(event, Mapping):
        raise InvalidInput("the input must be a JSON object")
    unknown = sorted(set(event) - INPUT_KEYS)
    if unknown:
        raise InvalidInput(f"unknown input key(s) {unknown} (allowed: {sorted(INPUT_KEYS)})")
    if event.get("week") is not None:
        try:
            week = parse_week(event["week"])
        except ValueError as exc:
            raise InvalidInput(f"week: {exc}") from exc
    else:
        instant = now or datetime.now(UTC)
        if event.get("scheduled_time") is not None:
            instant = _instant(event["scheduled_time"])
        week = previous_week(instant, tz)
    names = event.get("datasets")
    if names is None:
        names = sorted(declared)
    elif not isinstance(names, list) or not all(isinstance(n, str) for n in names) or not names:
        raise InvalidInput("datasets: a non-empty list of dataset names")
    missing = sorted(set(names) - set(declared))
    if missing:
        raise InvalidInput(f"datasets: not declared: {missing} (declared: {sorted(declared)})")
    return Request(week, tuple(dict.fromkeys(names)))


def _instant(value: Any) -> datetime:
    if not isinstance(value, str):
        raise InvalidInput("scheduled_time: an RFC 3339 string")
    try:
        instant = datetime.fromisoformat(value.upper())
    except ValueError as exc:
        raise InvalidInput(f"scheduled_time: {value!r} is not RFC 3339") from exc
    if instant.tzinfo is None:
        raise InvalidInput(f"scheduled_time: {value!r} has no offset (e.g. Z)")
    return instant


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    logger, metrics = observability()

    @metrics.log_metrics
    @logger.inject_lambda_context
    def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
        from headwater.records.summary import summarise_week
        from headwater.records.weeks import zone

        config = read_settings(Settings)
        tz = zone(config.time_zone)
        declared = _datasets(config.records_dir)
        request = parse_input(event, tz, declared)
        dynamodb, s3 = aws.client("dynamodb"), aws.client("s3")
        reports: dict[str, Any] = {}
        for name in request.datasets:
            result = summarise_week(
                dynamodb=dynamodb,
                s3=s3,
                table=config.table,
                bucket=config.bucket,
                prefix=config.prefix,
                dataset=declared[name],
                week=request.week,
                tz=tz,
            )
            reports[name] = result.report()
            metrics.add_metric(
                name="RecordsSummarised", unit=MetricUnit.Count, value=result.document["total"]
            )
            logger.info(
                "records summary written",
                extra={"dataset": name, "week": str(request.week), **reports[name]},
            )
        return {
            "week": str(request.week),
            "time_zone": tz.key,
            "bucket": config.bucket,
            "datasets": reports,
        }

    return handle(event, context)
