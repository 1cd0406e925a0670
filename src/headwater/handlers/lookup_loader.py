"""Lambda entrypoint of the lookup loader: S3 "Object Created" EventBridge event -> new version.

Thin on purpose: parse the event, call ``headwater.lookup.loader.load_lookup``, count, and put one
success, failure or skipped (an upload older than the live one) event on the bus for operators
(one per load, never one per row). A bad file
is not an error of the function: it is reported and the current version keeps serving. AWS
errors propagate so the EventBridge target's retry policy, then its DLQ, handle them.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from headwater import aws
from headwater.events import ObjectCreated, parse_event
from headwater.handlers.support.observability import observability
from headwater.handlers.support.settings import env_var, read_settings

EVENT_SOURCE = "headwater.lookup"
SUCCEEDED_DETAIL_TYPE = "Lookup Load Succeeded"
FAILED_DETAIL_TYPE = "Lookup Load Failed"
SKIPPED_DETAIL_TYPE = "Lookup Load Skipped"


@dataclass(frozen=True)
class Settings:
    table: str = env_var("LOOKUP_TABLE")
    lookup_prefix: str = env_var("LOOKUP_PREFIX", "lookup/")
    event_bus: str = env_var("EVENT_BUS_NAME", "default")
    lookups_dir: str | None = env_var("LOOKUPS_DIR", None, empty_is_unset=True)


@functools.cache
def _lookups(directory: str | None) -> Any:
    from headwater.lookup.contracts import load_lookups

    return load_lookups(directory)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    logger, metrics = observability()

    @metrics.log_metrics
    @logger.inject_lambda_context
    def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
        # The target receives the EventBridge event itself, already decoded.
        created = parse_event(event)  # InvalidEvent -> retried -> DLQ
        if created is None:
            logger.info("ignoring an S3 event that is not Object Created")
            return {"status": "ignored"}
        return _load(created, read_settings(Settings), logger, metrics)

    return handle(event, context)


def _load(created: ObjectCreated, config: Settings, logger: Logger, metrics: Metrics) -> dict:
    from headwater.lookup.loader import SKIPPED, SUCCEEDED, Source, load_lookup
    from headwater.lookup.store import LookupStore

    outcome = load_lookup(
        s3=aws.client("s3"),
        store=LookupStore(config.table, aws.client("dynamodb")),
        source=Source(
            created.bucket, created.key, created.version_id, created.time, created.sequencer
        ),
        lookups=_lookups(config.lookups_dir),
        lookup_prefix=config.lookup_prefix,
    )
    manifest = outcome.manifest
    fields = {
        "dataset": manifest["dataset"],
        "version": manifest["version"],
        "bucket": created.bucket,
        "key": created.key,
        "duration_ms": manifest["duration_ms"],
    }
    if outcome.status == SUCCEEDED:
        metrics.add_metric(name="LookupRowsLoaded", unit=MetricUnit.Count, value=manifest["rows"])
        metrics.add_metric(
            name="LookupKeysDeleted", unit=MetricUnit.Count, value=manifest["keys_deleted"]
        )
        logger.info(
            "lookup loaded",
            extra={**fields, "rows": manifest["rows"], "keys_written": manifest["keys_written"]},
        )
        detail_type = SUCCEEDED_DETAIL_TYPE
        _report_retirement(manifest, logger, metrics)
    elif outcome.status == SKIPPED:
        # A late or replayed event of an upload older than the live one: not a failure, and
        # not a load either (the dataset stays on the newer upload).
        metrics.add_metric(name="LookupLoadsSkipped", unit=MetricUnit.Count, value=1)
        logger.info(
            "lookup load skipped",
            extra={**fields, "live_version": manifest.get("live_version")},
        )
        detail_type = SKIPPED_DETAIL_TYPE
    else:
        metrics.add_metric(name="LookupLoadsFailed", unit=MetricUnit.Count, value=1)
        # The report names rule, row and column; its message may quote a value, so only the
        # rule and place are logged. The event carries the whole report for the data owner.
        error = manifest.get("error", {})
        logger.warning(
            "lookup load failed",
            extra={
                **fields,
                "rule": error.get("rule"),
                "row": error.get("row"),
                "column": error.get("column"),
            },
        )
        detail_type = FAILED_DETAIL_TYPE
    _publish(config.event_bus, detail_type, manifest)
    return {"status": outcome.status, "manifest": manifest}


def _report_retirement(manifest: dict[str, Any], logger: Logger, metrics: Metrics) -> None:
    """An old version left behind (its delete failed): the load succeeded, the leftover must be
    seen. The next load's sweep retires it; the TTL stamp is the backstop when none follows."""
    for report in manifest.get("retirement_incomplete") or []:
        metrics.add_metric(name="LookupRetirementsIncomplete", unit=MetricUnit.Count, value=1)
        if str(report.get("ttl_backstop", "")).startswith("failed"):
            metrics.add_metric(name="LookupTtlBackstopFailed", unit=MetricUnit.Count, value=1)
        logger.warning(
            "lookup retirement incomplete",
            extra={
                "dataset": manifest["dataset"],
                "version": manifest["version"],
                "retiring_version": report.get("version"),
                "keys": report.get("keys"),
                "error": report.get("error"),
                "ttl_backstop": report.get("ttl_backstop"),
            },
        )


def _publish(bus: str, detail_type: str, manifest: dict[str, Any]) -> None:
    response = aws.client("events").put_events(
        Entries=[
            {
                "Source": EVENT_SOURCE,
                "DetailType": detail_type,
                "Detail": json.dumps(manifest, default=str),
                "EventBusName": bus,
            }
        ]
    )
    if response.get("FailedEntryCount"):
        entry = response["Entries"][0]
        # Raise: the target's retry repeats the load, which is idempotent (a new version).
        raise RuntimeError(
            f"PutEvents failed: {entry.get('ErrorCode')}: {entry.get('ErrorMessage')}"
        )
