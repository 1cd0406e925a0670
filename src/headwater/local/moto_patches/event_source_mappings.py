"""Event source mappings are never run by moto: the runner's event sources poll them instead.

The ``lambda_event_source_mappings`` attribute of SQS queues, DynamoDB tables and Kinesis streams
is replaced by a descriptor that always reads empty. Otherwise moto consumes SQS messages on
SendMessage and pushes stream records to its Docker-based Lambda (with a DynamoDB stream mapping
present it tries Docker and empties the stream); the runner polls these sources itself, as the
Lambda service does. The mappings themselves (configuration returned by
Create/GetEventSourceMapping) are untouched.
"""

from __future__ import annotations

from typing import Any


def apply() -> None:
    from moto.dynamodb.models.table import Table
    from moto.kinesis.models import Stream
    from moto.sqs.models import Queue

    for cls in (Queue, Table, Stream):
        cls.lambda_event_source_mappings = _AlwaysEmptyMappings()


class _AlwaysEmptyMappings:
    """Data descriptor for ``lambda_event_source_mappings``: reads empty, writes are dropped.

    moto iterates this attribute on SendMessage / stream writes to push records to Lambda itself.
    """

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        return {} if obj is not None else self

    def __set__(self, obj: Any, value: Any) -> None:
        return None
