"""Lambda entrypoint of the onboard worker: SQS work messages -> Parquet parts of one table.

Thin on purpose: settings, the declarations, the source's credentials (Secrets Manager, by the
ARN in ONBOARD_SOURCES, cached per container, never logged nor put in a message), and one call
of ``headwater.onboard.worker.process`` per record, answered as a partial batch response.

- A message that does not parse, names an unknown source, a table not declared, or no table of
  an existing run is rejected: logged, sent to the DLQ as it came (its depth alarm fires) and
  reported done, so it is never retried and nothing is read for it.
- Past ONBOARD_MAX_ATTEMPTS deliveries (``ApproximateReceiveCount``) the table is failed, the
  body goes to ONBOARD_WORK_DLQ_URL and the record reports success, so a run always completes;
  the queue's own redrive (max attempts + 2) is the backstop.
- Any other failure is a batch item failure: the queue delivers it again after its visibility
  timeout and the step restarts from its last checkpoint.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)

from headwater import aws
from headwater.handlers.support import credentials
from headwater.handlers.support.observability import observability
from headwater.handlers.support.settings import env_var, read_settings

# Time kept back from the invocation's remaining time: max(MIN_RESERVE_MS, RESERVE_SHARE of
# what it had at its start). The current part's close and upload and the checkpoint fit in it.
MIN_RESERVE_MS = 30_000
RESERVE_SHARE = 0.1


class StepFailed(Exception):
    """A step that failed and is retried; its text is redacted (no credentials)."""


@dataclass(frozen=True)
class Settings:
    state_table: str = env_var("ONBOARD_STATE_TABLE")
    work_queue_url: str = env_var("ONBOARD_WORK_QUEUE_URL")
    work_dlq_url: str = env_var("ONBOARD_WORK_DLQ_URL")
    sources: str = env_var("ONBOARD_SOURCES")
    bucket: str = env_var("ONBOARD_BUCKET")
    event_bus: str = env_var("ONBOARD_EVENT_BUS_NAME")
    part_bytes: str = env_var("ONBOARD_PART_BYTES", "134217728", empty_is_unset=True)
    max_attempts: str = env_var("ONBOARD_MAX_ATTEMPTS", "3", empty_is_unset=True)
    retention_days: str = env_var("ONBOARD_RUN_RETENTION_DAYS", "30", empty_is_unset=True)


def _whole(name: str, text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise RuntimeError(f"{name} must be a whole number, not {text!r}") from None
    if value < minimum:
        raise RuntimeError(f"{name} must be at least {minimum}, not {value}")
    return value


def reserve_ms(context: Any) -> int:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    total = remaining() if callable(remaining) else 0
    return max(MIN_RESERVE_MS, int(total * RESERVE_SHARE))


def _remaining(context: Any) -> Any:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return remaining if callable(remaining) else (lambda: 900_000)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    logger, metrics = observability()

    @metrics.log_metrics
    @logger.inject_lambda_context(clear_state=True)
    def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
        from headwater.onboard import worker
        from headwater.onboard.declarations import UndeclaredTable, load_sources
        from headwater.onboard.extractor import open_extractor
        from headwater.onboard.messages import parse_work_message
        from headwater.onboard.postgres import ConnectionFailed
        from headwater.onboard.runs import Busy, LeaseLost
        from headwater.onboard.s3_store import S3Store

        config = read_settings(Settings)
        arns = credentials.secret_arns(config.sources, "ONBOARD_SOURCES")
        sources = load_sources()
        sqs, events = aws.client("sqs"), aws.client("events")
        settings = worker.Config(
            part_bytes=_whole("ONBOARD_PART_BYTES", config.part_bytes, 1),
            max_attempts=_whole("ONBOARD_MAX_ATTEMPTS", config.max_attempts, 1),
            retention_days=_whole("ONBOARD_RUN_RETENTION_DAYS", config.retention_days, 1),
            reserve_ms=reserve_ms(context),
        )

        def put_event(detail: dict[str, Any]) -> None:
            answer = events.put_events(
                Entries=[
                    {
                        "Source": worker.EVENT_SOURCE,
                        "DetailType": worker.DETAIL_TYPE,
                        "Detail": json.dumps(detail),
                        "EventBusName": config.event_bus,
                    }
                ]
            )
            if answer.get("FailedEntryCount"):
                raise RuntimeError(f"PutEvents failed: {answer['Entries']}")

        ports = worker.Ports(
            state=aws.resource("dynamodb").Table(config.state_table),
            store=S3Store(aws.client("s3"), config.bucket),
            send_work=lambda body: sqs.send_message(
                QueueUrl=config.work_queue_url, MessageBody=body
            ),
            send_dlq=lambda body: sqs.send_message(QueueUrl=config.work_dlq_url, MessageBody=body),
            put_event=put_event,
        )

        def reject(record: Any, exc: Exception, **keys: Any) -> None:
            logger.error(
                "onboard: work message rejected, sent to the DLQ",
                extra={**keys, "message_id": record.message_id, "error": str(exc)},
            )
            metrics.add_metric(name="MessagesRejected", unit=MetricUnit.Count, value=1)
            ports.send_dlq(record.body)

        def record_handler(record: Any) -> None:
            """One work message; returns when it is done or rejected, raises to retry it."""
            try:
                message = parse_work_message(record.body)
                source = sources.get(message.source)
                if source is None or message.source not in arns:
                    raise worker.Rejected(f"unknown source {message.source!r}")
                source.table(message.table)
            except (ValueError, UndeclaredTable, worker.Rejected) as exc:
                return reject(record, exc)
            keys = {
                "run_id": message.run_id,
                "table": message.table,
                "range": message.range,
                "seq": message.seq,
            }
            # Credentials only when rows are read (not for a stale or rejected message); a
            # secret that cannot be read fails the step like any error, so its table fails
            # after the attempts and the run completes. The password joins the redaction list.
            secrets: list[str] = []
            readers: list[Any] = []

            def open_reader() -> Any:
                reader = open_extractor(source, credentials.secret(arns[message.source]))
                secrets.extend(reader.secrets)
                readers.append(reader)
                return reader

            receive_count = int(record.attributes.approximate_receive_count or "1")
            try:
                outcome = worker.process(
                    message,
                    source=source,
                    extractor=open_reader,
                    ports=ports,
                    config=dataclasses.replace(settings, secrets=secrets),
                    remaining_ms=_remaining(context),
                    receive_count=receive_count,
                    log=logger,
                )
            except (worker.Rejected, UndeclaredTable) as exc:
                return reject(record, exc, **keys)
            except LeaseLost as exc:
                logger.warning("onboard: step taken over", extra={**keys, "error": str(exc)})
                return None
            except Busy as exc:
                logger.warning("onboard: range busy, retried", extra={**keys, "error": str(exc)})
                raise StepFailed(str(exc)) from None
            except Exception as exc:
                if isinstance(exc, ConnectionFailed):
                    credentials.forget()  # a rotated password: fetch the secret again next time
                error = worker.error_text(exc, secrets)
                logger.error(
                    "onboard: step failed, retried",
                    extra={**keys, "attempt": receive_count, "error": error},
                )
                metrics.add_metric(name="StepsFailed", unit=MetricUnit.Count, value=1)
                # Re-raised with the redacted text only: the batch processor keeps exceptions.
                raise StepFailed(error) from None
            finally:
                for reader in readers:
                    reader.close()
            metrics.add_metric(name="RowsWritten", unit=MetricUnit.Count, value=outcome.rows)
            metrics.add_metric(name="PartsWritten", unit=MetricUnit.Count, value=outcome.parts)
            if outcome.action == "failed":
                metrics.add_metric(name="TablesFailed", unit=MetricUnit.Count, value=1)
            if outcome.run_completed:
                metrics.add_metric(name="RunsCompleted", unit=MetricUnit.Count, value=1)
            logger.info(
                "onboard: step done",
                extra={
                    **keys,
                    "action": outcome.action,
                    "rows": outcome.rows,
                    "parts": outcome.parts,
                },
            )
            return None

        # Powertools' batch processor: a record that raises is a batch item failure (retried
        # after its visibility timeout, from its last checkpoint); the others are deleted.
        processor = BatchProcessor(EventType.SQS, raise_on_entire_batch_failure=False)
        return process_partial_response(event, record_handler, processor, context)

    return handle(event, context)
