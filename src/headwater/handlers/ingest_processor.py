"""Lambda entrypoint of the ingest processor: SQS batch -> process_object per record.

Thin on purpose: parse the message, call the domain code, log, count, and report partial batch
failures so only failed records return to the queue (and, after maxReceiveCount, to the DLQ).
A record deferred for lack of time is re-sent to the queue as a new message instead of failing
(``support/deferral.py``), so deferrals never spend its receives.
"""

from __future__ import annotations

import functools
import traceback
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from botocore.exceptions import ClientError

from headwater import aws
from headwater.events import ObjectCreated, parse_message
from headwater.handlers.support.deferral import Resend, resend
from headwater.handlers.support.observability import observability
from headwater.handlers.support.settings import env_var, read_settings
from headwater.handlers.support.time_budget import OutOfTime, TimeBudget


@dataclass(frozen=True)
class Settings:
    curated_bucket: str = env_var("CURATED_BUCKET")
    quarantine_bucket: str = env_var("QUARANTINE_BUCKET")
    ingest_prefix: str = env_var("INGEST_PREFIX", "ingest/")
    contracts_dir: str | None = env_var("CONTRACTS_DIR", None, empty_is_unset=True)


@functools.cache
def _contracts(directory: str | None) -> Any:
    from headwater.ingest.contracts import load_contracts_isolated

    return load_contracts_isolated(directory)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    logger, metrics = observability()

    @metrics.log_metrics
    @logger.inject_lambda_context
    def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
        config = read_settings(Settings)
        loaded = _contracts(config.contracts_dir)
        for broken in loaded.broken:
            # Every invocation, not once per cold start: the log is where the fix is asked for.
            logger.error(
                "invalid dataset declaration",
                extra={"source": broken.source, "error": broken.error, "prefix": broken.prefix},
            )
        budget = TimeBudget(context)
        # Whole-batch failures are reported like partial ones: the same contract either way, and
        # every listed record returns to the queue, so a poison batch still ends in the DLQ.
        # No logger= here: Powertools would log the exception with its message and traceback,
        # which may quote file contents; record_handler logs one safe line per failure instead.
        processor = BatchProcessor(EventType.SQS, raise_on_entire_batch_failure=False)

        def record_handler(record: Any) -> str:
            created: ObjectCreated | None = None
            try:
                created = parse_message(record.body)  # InvalidEvent -> retried -> DLQ
                if created is not None:
                    budget.start_next(_estimate_ms(created))
                return _process_record(created, config, loaded, budget, logger, metrics)
            except OutOfTime as exc:
                outcome = resend(aws.client("sqs"), record)
                _log_deferral(logger, metrics, record, created, exc, outcome)
                if outcome.sent:
                    return "deferred"  # the new message carries it: this one is done
                raise
            except Exception as exc:
                _log_failure(logger, metrics, record, created, exc)
                raise

        return process_partial_response(event, record_handler, processor, context)

    return handle(event, context)


def _estimate_ms(created: ObjectCreated) -> int | None:
    from headwater.ingest.processor import estimate_ms

    return estimate_ms(created.key, created.size)


def _log_deferral(
    logger: Logger,
    metrics: Metrics,
    record: Any,
    created: ObjectCreated | None,
    exc: Exception,
    outcome: Resend,
) -> None:
    """Not started for lack of time: expected under load. Counted as FilesDeferred, never
    FilesFailed (whose alarm is for real failures), unless it could not be re-sent: then it
    goes back to the queue as a failure, spending a receive, and says why."""
    fields: dict[str, Any] = {
        "message_id": record.message_id,
        "reason": str(exc),
        "deferrals": outcome.count,
    }
    if created is not None:
        fields.update(bucket=created.bucket, key=created.key, version_id=created.version_id)
    metrics.add_metric(name="FilesDeferred", unit=MetricUnit.Count, value=1)
    if outcome.sent:
        logger.warning("record deferred", extra={**fields, "resent_as": outcome.message_id})
        return
    metrics.add_metric(name="FilesFailed", unit=MetricUnit.Count, value=1)
    logger.error(
        "record deferred and not re-sent: returned to the queue as a failure",
        extra={**fields, "not_resent": outcome.refused},
    )


def _log_failure(
    logger: Logger, metrics: Metrics, record: Any, created: ObjectCreated | None, exc: Exception
) -> None:
    """One structured line per failed record: what failed and where, never the exception text
    (a parser or library error may quote a value from the file)."""
    fields: dict[str, Any] = {"message_id": record.message_id, "exception": type(exc).__name__}
    if created is not None:
        fields.update(bucket=created.bucket, key=created.key, version_id=created.version_id)
    if isinstance(exc, ClientError):
        fields["error_code"] = exc.response.get("Error", {}).get("Code")
        fields["operation"] = exc.operation_name
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        fields["raised_at"] = f"{frames[-1].filename}:{frames[-1].lineno} in {frames[-1].name}"
    metrics.add_metric(name="FilesFailed", unit=MetricUnit.Count, value=1)
    logger.error("record failed", extra=fields)


def _process_object(**kwargs: Any) -> Any:
    # Imported on first use: pyarrow is heavy, and this module is imported by tooling too.
    from headwater.ingest.processor import process_object

    return process_object(**kwargs)


def _process_record(
    created: ObjectCreated | None,
    config: Settings,
    loaded: Any,
    budget: TimeBudget,
    logger: Logger,
    metrics: Metrics,
) -> str:
    from headwater.ingest.processor import CURATED, QUARANTINED

    if created is None:
        logger.info("ignoring an S3 event that is not Object Created")
        return "ignored"
    outcome = _process_object(
        s3=aws.client("s3"),
        bucket=created.bucket,
        key=created.key,
        version_id=created.version_id,
        etag=created.etag,
        size=created.size,
        event_time=created.time,
        contracts=loaded.contracts,
        broken=loaded.broken,
        # A file estimated to need more than a whole invocation is quarantined, not retried.
        max_duration_ms=budget.total_ms,
        curated_bucket=config.curated_bucket,
        quarantine_bucket=config.quarantine_bucket,
        ingest_prefix=config.ingest_prefix,
    )
    # Never log the error message: it may quote a value from the file; the report holds it.
    fields = {"bucket": created.bucket, "key": created.key, "dataset": outcome.dataset}
    if outcome.status == CURATED:
        metrics.add_metric(name="FilesCurated", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="RowsCurated", unit=MetricUnit.Count, value=outcome.rows)
        logger.info(
            "curated", extra={**fields, "rows": outcome.rows, "output_key": outcome.output_key}
        )
    elif outcome.status == QUARANTINED:
        metrics.add_metric(name="FilesQuarantined", unit=MetricUnit.Count, value=1)
        logger.warning(
            "quarantined",
            extra={**fields, "rule": outcome.rule, "report_key": outcome.report_key},
        )
    else:
        logger.warning("skipped", extra={**fields, "reason": outcome.message})
    return outcome.status
