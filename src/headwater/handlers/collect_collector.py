"""Lambda entrypoint of the collector: a schedule's job -> facts in DynamoDB, checkpoint forward.

Invoked asynchronously by the EventBridge Scheduler (and by run-now) with the schedule's input
(``headwater.collect.collector.parse_job``). Thin on purpose: settings, clients, and one call of
``collector.run``; every failure raises (a malformed input included), so Lambda's asynchronous
retries and then the on-failure destination see it. Log lines carry the subscriber, schedule
and schedule id, never the params or a token.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from headwater import aws
from headwater.handlers.support.observability import observability
from headwater.handlers.support.settings import env_var, read_settings


@dataclass(frozen=True)
class Settings:
    facts_table: str = env_var("COLLECT_FACTS_TABLE")
    state_table: str = env_var("COLLECT_STATE_TABLE")
    secret_prefix: str = env_var("COLLECT_SECRET_PREFIX")
    lag_days: str = env_var("COLLECT_LAG_DAYS", "1", empty_is_unset=True)
    max_backfill_days: str = env_var("COLLECT_MAX_BACKFILL_DAYS", "30", empty_is_unset=True)
    initial_days: str = env_var("COLLECT_INITIAL_DAYS", "7", empty_is_unset=True)
    retention_days: str = env_var("COLLECT_FACT_RETENTION_DAYS", "0", empty_is_unset=True)
    meta_base_url: str = env_var(
        "COLLECT_META_BASE_URL", "https://graph.facebook.com/v21.0", empty_is_unset=True
    )


# Seconds kept back from the function's remaining time: a connector that stops backing off then
# raises a clear error (and the checkpoint keeps the windows done) instead of being killed.
TIME_RESERVE_SECONDS = 30.0


def connectors(config: Settings, remaining_seconds: float | None) -> Any:
    """``registry.get`` with this deployment's settings applied: the Meta connector talks to
    ``COLLECT_META_BASE_URL`` and never sleeps past the invocation's remaining time."""
    import dataclasses

    from headwater.collect.connectors import registry
    from headwater.collect.connectors.meta import MetaInsightsConnector

    def get(name: str) -> Any:
        connector = registry.get(name)
        if isinstance(connector, MetaInsightsConnector):
            backoff = connector.backoff
            if remaining_seconds is not None:
                budget = max(0.0, remaining_seconds - TIME_RESERVE_SECONDS)
                backoff = dataclasses.replace(
                    backoff, max_wait_seconds=min(backoff.max_wait_seconds, budget)
                )
            return dataclasses.replace(connector, base_url=config.meta_base_url, backoff=backoff)
        return connector

    return get


def policy(config: Settings) -> Any:
    """The run's Policy; a bad value names its variable (the function fails on every run)."""
    from headwater.collect.collector import Policy

    values: dict[str, int] = {}
    for name, variable in (
        ("lag_days", "COLLECT_LAG_DAYS"),
        ("max_backfill_days", "COLLECT_MAX_BACKFILL_DAYS"),
        ("initial_days", "COLLECT_INITIAL_DAYS"),
        ("retention_days", "COLLECT_FACT_RETENTION_DAYS"),
    ):
        text = getattr(config, name)
        try:
            values[name] = int(text)
        except ValueError:
            raise RuntimeError(f"{variable} must be a whole number of days, not {text!r}") from None
    try:
        return Policy(**values)
    except ValueError as exc:
        raise RuntimeError(f"collector settings: {exc}") from None


def _remaining_seconds(context: Any) -> float | None:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return remaining() / 1000.0 if callable(remaining) else None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    logger, metrics = observability()

    @metrics.log_metrics
    @logger.inject_lambda_context(clear_state=True)
    def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
        from headwater.collect import collector

        config = read_settings(Settings)
        rules = policy(config)
        try:
            job = collector.parse_job(event)
        except collector.InvalidJob as exc:
            logger.error("collect: invalid input", extra={"error": str(exc)})
            raise
        logger.append_keys(
            subscriber=job.subscriber, schedule=job.schedule, schedule_id=job.schedule_id
        )
        dynamodb = aws.resource("dynamodb")
        summary = collector.run(
            job,
            datetime.now(UTC),
            facts_table=dynamodb.Table(config.facts_table),
            state_table=dynamodb.Table(config.state_table),
            secrets=aws.client("secretsmanager"),
            secret_prefix=config.secret_prefix,
            policy=rules,
            logger=logger,
            connectors=connectors(config, _remaining_seconds(context)),
        )
        metrics.add_metric(name="FactsWritten", unit=MetricUnit.Count, value=summary.facts)
        metrics.add_metric(name="WindowsCollected", unit=MetricUnit.Count, value=summary.windows)
        metrics.add_metric(name="WindowsSkipped", unit=MetricUnit.Count, value=summary.skipped_days)
        result = summary.as_dict()
        logger.info("collect: run finished", extra={"trigger": job.trigger, **result})
        return result

    return handle(event, context)
