"""Which source type serves a mapping, chosen by the service in its ``EventSourceArn``.

Sources Lambda supports but the local mode does not serve yet are named with the reason, so
``headwater local status`` says why nothing happens; a Kinesis source type plugs in by adding an
entry to ``SOURCE_TYPES`` and removing it from ``NOT_SERVED``.
"""

from __future__ import annotations

from typing import Any

from headwater.local.event_sources import dynamodb_streams, sqs
from headwater.local.event_sources.base import (
    EventSource,
    SourceConfig,
    SourceRuntime,
    SourceType,
    UnsupportedMapping,
)

SOURCE_TYPES: dict[str, SourceType] = {
    "sqs": sqs.SOURCE_TYPE,
    "dynamodb": dynamodb_streams.SOURCE_TYPE,
}

NOT_SERVED: dict[str, str] = {
    "kinesis": "Kinesis stream mappings are not served by the local runner yet "
    "(moto's own delivery needs Docker and is switched off)",
}


def source_service(source_arn: str) -> str:
    """``arn:aws:dynamodb:r:a:table/t/stream/...`` -> ``dynamodb`` ("" when not an ARN)."""
    parts = source_arn.split(":")
    return parts[2] if len(parts) > 2 and parts[0] == "arn" else ""


def resolve(conf: dict[str, Any]) -> SourceConfig | UnsupportedMapping:
    """The config of a mapping as ListEventSourceMappings returns it, or why it is unsupported."""
    source_arn = conf.get("EventSourceArn") or ""
    service = source_service(source_arn)
    source_type = SOURCE_TYPES.get(service)
    if source_type is not None:
        return source_type.parse(conf)
    reason = NOT_SERVED.get(service) or (
        f"no local event source for {service or 'this source'} "
        "(self-managed Kafka, Amazon MQ, DocumentDB and MSK are not emulated)"
    )
    return UnsupportedMapping(conf["UUID"], conf.get("FunctionArn", ""), source_arn, reason)


def build(config: SourceConfig, runtime: SourceRuntime) -> EventSource:
    """The event source for a config :func:`resolve` returned (not for an unsupported one)."""
    return SOURCE_TYPES[source_service(config.source_arn)].build(config, runtime)
