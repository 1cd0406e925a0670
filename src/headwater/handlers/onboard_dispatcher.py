"""Lambda entrypoint of the onboard dispatcher: a scheduled fire -> a run and its work messages.

Invoked by the source's EventBridge Scheduler schedule (and by ``headwater onboard run``) with
exactly ``{"source": ..., "scheduled_time": ...}``; anything else is rejected with a ValueError
before anything is read. Thin on purpose: settings, the source's declaration, its credentials
(fetched from Secrets Manager by the ARN in ONBOARD_SOURCES, cached per container, never logged),
one call of ``headwater.onboard.dispatcher.dispatch``. Failures raise, so the Scheduler's retry
policy and its DLQ (replayable) see them; a replay of the same scheduled time re-sends only what
was not sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from headwater import aws
from headwater.handlers.support import credentials
from headwater.handlers.support.observability import observability
from headwater.handlers.support.settings import env_var, read_settings


@dataclass(frozen=True)
class Settings:
    state_table: str = env_var("ONBOARD_STATE_TABLE")
    work_queue_url: str = env_var("ONBOARD_WORK_QUEUE_URL")
    sources: str = env_var("ONBOARD_SOURCES")
    # The state items' lifetime (the module sets it on both functions; 30 when unset).
    retention_days: str = env_var("ONBOARD_RUN_RETENTION_DAYS", "30", empty_is_unset=True)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    logger, metrics = observability()

    @metrics.log_metrics
    @logger.inject_lambda_context(clear_state=True)
    def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
        from headwater.onboard.declarations import load_sources
        from headwater.onboard.dispatcher import dispatch
        from headwater.onboard.extractor import open_extractor
        from headwater.onboard.messages import parse_dispatch_event
        from headwater.onboard.postgres import ConnectionFailed

        config = read_settings(Settings)
        arns = credentials.secret_arns(config.sources, "ONBOARD_SOURCES")
        try:
            request = parse_dispatch_event(event)
            sources = load_sources()
            if request.source not in sources or request.source not in arns:
                raise ValueError(f"unknown source {request.source!r}")
        except ValueError as exc:
            logger.error("onboard: dispatcher event rejected", extra={"error": str(exc)})
            metrics.add_metric(name="EventsRejected", unit=MetricUnit.Count, value=1)
            raise
        source = sources[request.source]
        granted = credentials.target_prefix(config.sources, source.name)
        if granted is not None and granted != source.target_prefix:
            # The worker's S3 grant covers the module's prefix only: every table would fail
            # with AccessDenied. Refused before a run exists, naming both sides.
            raise RuntimeError(
                f"source {source.name!r} is declared with target_prefix "
                f"{source.target_prefix!r}, but the Terraform module's onboard_sources grants "
                f"{granted!r}: set the same target_prefix in both"
            )
        logger.append_keys(source=source.name, run_id=request.run_id)
        queue_url = config.work_queue_url
        sqs = aws.client("sqs")

        def send(body: str) -> None:
            sqs.send_message(QueueUrl=queue_url, MessageBody=body)

        extractor = open_extractor(source, credentials.secret(arns[source.name]))
        try:
            result = dispatch(
                request,
                source=source,
                extractor=extractor,
                state=aws.resource("dynamodb").Table(config.state_table),
                send=send,
                retention_days=int(config.retention_days),
                log=logger,
            )
        except ConnectionFailed:
            credentials.forget()  # a rotated password: fetch the secret again on the retry
            raise
        finally:
            extractor.close()
        metrics.add_metric(name="MessagesSent", unit=MetricUnit.Count, value=result.sent)
        outcome = {
            "run_id": result.run_id,
            "new_run": result.created,
            "tables": result.tables,
            "sent": result.sent,
            "completed": result.completed,
        }
        logger.info("onboard: run dispatched", extra=outcome)
        return outcome

    return handle(event, context)
