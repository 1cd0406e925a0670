"""Lambda entrypoint of the ingest processor: SQS batch -> process_object per record.

Thin on purpose: parse the message, call the domain code, log, count, and report partial batch
failures so only failed records return to the queue (and, after maxReceiveCount, to the DLQ).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)

from headwater import aws
from headwater.ingest.events import parse_message


@dataclass(frozen=True)
class Settings:
    curated_bucket: str
    quarantine_bucket: str
    ingest_prefix: str
    contracts_dir: str | None


def settings() -> Settings:
    """Read at call time (not import time) so tests and the local runner can set them."""
    missing = [n for n in ("CURATED_BUCKET", "QUARANTINE_BUCKET") if not os.environ.get(n)]
    if missing:
        raise RuntimeError(f"environment variable(s) not set: {', '.join(missing)}")
    return Settings(
        curated_bucket=os.environ["CURATED_BUCKET"],
        quarantine_bucket=os.environ["QUARANTINE_BUCKET"],
        ingest_prefix=os.environ.get("INGEST_PREFIX", "ingest/"),
        contracts_dir=os.environ.get("CONTRACTS_DIR") or None,
    )


@functools.cache
def _contracts(directory: str | None) -> tuple[Any, ...]:
    from headwater.ingest.contracts import load_contracts

    return tuple(load_contracts(directory))


@functools.cache
def _observability(service: str | None, namespace: str | None) -> tuple[Logger, Metrics]:
    # Created on first use, keyed by the env values, so changed env (tests) takes effect.
    return Logger(service=service), Metrics(namespace=namespace, service=service)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    logger, metrics = _observability(
        os.environ.get("POWERTOOLS_SERVICE_NAME"), os.environ.get("POWERTOOLS_METRICS_NAMESPACE")
    )

    @metrics.log_metrics
    @logger.inject_lambda_context
    def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
        config = settings()
        contracts = _contracts(config.contracts_dir)
        # Whole-batch failures are reported like partial ones: the same contract either way.
        processor = BatchProcessor(EventType.SQS, raise_on_entire_batch_failure=False)

        def record_handler(record: Any) -> str:
            return _process_record(record, config, contracts, logger, metrics)

        return process_partial_response(event, record_handler, processor, context)

    return handle(event, context)


def _process_record(
    record: Any, config: Settings, contracts: Any, logger: Logger, metrics: Metrics
) -> str:
    from headwater.ingest.processor import CURATED, QUARANTINED, process_object

    created = parse_message(record.body)  # InvalidEvent -> record fails -> retried -> DLQ
    if created is None:
        logger.info("ignoring an S3 event that is not Object Created")
        return "ignored"
    outcome = process_object(
        s3=aws.client("s3"),
        bucket=created.bucket,
        key=created.key,
        version_id=created.version_id,
        etag=created.etag,
        size=created.size,
        event_time=created.time,
        contracts=contracts,
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
