"""What an event source is: the part of the Lambda service that serves one event source mapping.

The runner reads every mapping from the emulator (moto stores them but never runs them, see
``moto_patches.event_source_mappings``) and asks the registry for the mapping's source type,
chosen by the service in its ``EventSourceArn``. A source type parses the mapping's configuration
into an immutable config (a changed config restarts the source) and builds the running source
from it. A mapping no source type serves becomes an :class:`UnsupportedMapping`, which the runner
logs and reports in ``headwater local status`` instead of ignoring it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from headwater.local.event_sources.checkpoints import CheckpointStore
from headwater.local.lambda_service.async_invocations import Destinations
from headwater.local.lambda_service.workers import InvokeResult

# States in which Lambda's pollers run (a mapping is "Creating"/"Enabling" only briefly on AWS).
ACTIVE_STATES = frozenset({"Enabled", "Enabling", "Creating", "Updating"})


class SourceConfig(Protocol):
    """A mapping's configuration as one source type reads it; equality decides a restart."""

    @property
    def uuid(self) -> str: ...

    @property
    def function_arn(self) -> str: ...

    @property
    def source_arn(self) -> str: ...

    @property
    def enabled(self) -> bool: ...


class EventSource(Protocol):
    """One mapping being served: reads its source and invokes the mapping's function."""

    def start(self) -> None: ...

    def stop(self, timeout: float = 10.0) -> None:
        """Stop reading; ``timeout=0`` only signals (the runner signals all, then waits)."""

    @property
    def running(self) -> bool: ...

    def describe(self) -> dict[str, Any]:
        """The source's settings and progress, JSON-serialisable, for ``headwater local status``."""


@dataclass(frozen=True)
class SourceRuntime:
    """What the runner lends a source it builds."""

    invoke: Callable[[dict[str, Any]], InvokeResult]  # the mapping's function, synchronously
    client: Callable[[str], Any]  # a new boto3 client for the emulator: client("sqs")
    region: str
    max_concurrency: int  # the runner's cap on concurrent invocations per function
    # A stream mapping's on-failure destination gets its record as an asynchronous invocation's
    # does: sent with the function's execution role (its ARN as the function is configured
    # now), checked by the local IAM checks, the destination's KMS key included.
    destinations: Destinations | None = None
    function_role: Callable[[], str | None] | None = None
    # Where stream mappings' shards stand (``checkpoints``); None: kept for this process only.
    checkpoints: CheckpointStore | None = None


@dataclass(frozen=True)
class SourceType:
    """How one kind of source (SQS, a DynamoDB stream, ...) is served locally."""

    parse: Callable[[dict[str, Any]], SourceConfig]
    build: Callable[[Any, SourceRuntime], EventSource]  # (its own config type, runtime)


@dataclass(frozen=True)
class UnsupportedMapping:
    """A mapping the local Lambda service cannot serve, with the reason shown to the user."""

    uuid: str
    function_arn: str
    source_arn: str
    reason: str

    def describe(self) -> dict[str, Any]:
        return {"status": "unsupported", "reason": self.reason}
