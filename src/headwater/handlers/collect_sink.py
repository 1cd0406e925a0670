"""Lambda entrypoint of the stream sink: a batch of the facts table's stream -> Parquet on S3.

Thin on purpose: settings, the S3 store, one call of ``headwater.collect.sink.sink_batch``, and
its partial batch response returned as is (the mapping has ``ReportBatchItemFailures``). A
failure the sink cannot report per record (a trim that failed, an unreadable sequence number)
raises, so the mapping retries or bisects the batch. Logs name sequence numbers, object keys and
error types, never an item's images.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from headwater import aws
from headwater.handlers.support.observability import observability
from headwater.handlers.support.settings import env_var, read_settings

# Parallel puts per invocation: a batch's partitions are written at once (sink.sink_batch).
MAX_WORKERS = 8


@dataclass(frozen=True)
class Settings:
    bucket: str = env_var("COLLECT_CHANGES_BUCKET")
    prefix: str = env_var("COLLECT_CHANGES_PREFIX", "changes/")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    logger, metrics = observability()

    @metrics.log_metrics
    @logger.inject_lambda_context(clear_state=True)
    def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
        from headwater.collect.s3_store import S3Store
        from headwater.collect.sink import sink_batch

        config = read_settings(Settings)
        records = len(event.get("Records") or [])
        try:
            store = S3Store(aws.client("s3"), config.bucket)
            result = sink_batch(event, store, config.prefix, max_workers=MAX_WORKERS)
        except Exception as exc:
            logger.error(
                "sink: batch failed, retried whole",
                extra={"records": records, "error_type": type(exc).__name__, "error": str(exc)},
            )
            raise
        failures = result.response["batchItemFailures"]
        metrics.add_metric(name="ChangeRecords", unit=MetricUnit.Count, value=records)
        metrics.add_metric(name="ObjectsWritten", unit=MetricUnit.Count, value=len(result.written))
        metrics.add_metric(name="BatchItemFailures", unit=MetricUnit.Count, value=len(failures))
        if failures:
            logger.warning(
                "sink: partial batch failure",
                extra={
                    "records": records,
                    "failed_at": result.failed_at,
                    "errors": result.errors,
                    "deleted": result.deleted,
                },
            )
        else:
            logger.info(
                "sink: batch written", extra={"records": records, "objects": len(result.written)}
            )
        return result.response

    return handle(event, context)
