"""The runner: plays the Lambda service for the embedded local mode.

It reads what exists in the emulator (functions with handler, environment, timeout and memory;
event source mappings) and keeps reading every ``refresh_interval`` seconds, because Terraform
creates them after the daemon has started. Each function runs in its own worker processes
(``workers``); each enabled mapping is served by the event source its source type builds
(``event_sources.registry``), and a mapping no source type serves is logged once and reported as
unsupported. With a state directory the runner publishes its view of the mappings there for
``headwater local status`` (``event_sources.status``). Functions are imported from this
interpreter's import path, not from the uploaded zip: the zip is what AWS runs, the package
installed here is the same code.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from uuid import uuid4

import boto3
from botocore.config import Config

from headwater.local.event_sources import registry, status
from headwater.local.event_sources.base import (
    EventSource,
    SourceConfig,
    SourceRuntime,
    UnsupportedMapping,
)
from headwater.local.event_sources.checkpoints import CheckpointStore
from headwater.local.iam.policies import PolicyFiles
from headwater.local.iam.service_roles import ServiceRoles
from headwater.local.lambda_service.async_invocations import (
    EVENT_AGE_EXCEEDED,
    RETRIES_EXHAUSTED,
    SUCCESS,
    AsyncInvocation,
    Destinations,
    EventInvokeConfig,
    invocation_record,
)
from headwater.local.lambda_service.workers import (
    EMULATOR_CREDENTIAL,
    FunctionConfig,
    FunctionPool,
    InvokeResult,
    PoolClosed,
)
from headwater.local.scheduler.service import Clock, Scheduler, utc_now

__all__ = ["FunctionNotFound", "InvokeResult", "Runner"]

log = logging.getLogger("headwater.local.lambda_service.runner")

# A 2-core machine: more than two warm workers per function only adds memory pressure.
DEFAULT_MAX_WORKERS_PER_FUNCTION = 2
# Lambda retries a failed asynchronous invocation (by default twice: after about 1 and 2 minutes
# on AWS; locally seconds are enough to ride out a transient failure). The delay before retry n
# is the n-th of these (the last one for any later retry).
DEFAULT_ASYNC_RETRY_DELAYS = (1.0, 2.0)


class FunctionNotFound(LookupError):
    """No function of that name or ARN exists in the emulator."""


def _function_name(name_or_arn: str) -> str:
    """``fn``, ``arn:aws:lambda:r:a:function:fn`` or ``...:fn:$LATEST`` -> ``fn``."""
    if name_or_arn.startswith("arn:"):
        parts = name_or_arn.split(":")
        if len(parts) >= 7 and parts[5] == "function":
            return parts[6]
    return name_or_arn


class Runner:
    """Discover functions and mappings in the emulator and serve them like Lambda does."""

    def __init__(
        self,
        endpoint_url: str,
        region: str = "us-east-1",
        *,
        refresh_interval: float = 2.0,
        max_workers_per_function: int = DEFAULT_MAX_WORKERS_PER_FUNCTION,
        async_retry_delays: Sequence[float] = DEFAULT_ASYNC_RETRY_DELAYS,
        state_dir: Path | None = None,
        schedules: bool = False,
        clock: Clock = utc_now,
        stream_checkpoints: Path | None = None,
    ) -> None:
        self.endpoint_url = endpoint_url
        self.region = region
        self.refresh_interval = refresh_interval
        self.max_workers_per_function = max(1, max_workers_per_function)
        self.async_retry_delays = tuple(async_retry_delays)
        self.state_dir = state_dir
        # Stream mappings resume where their shards stood (a file survives a daemon restart).
        self.stream_checkpoints = CheckpointStore(stream_checkpoints)
        self._lock = threading.RLock()
        self._client_lock = threading.Lock()
        # Serialises refreshes (an older listing must not be applied after a newer one) without
        # holding up invocations, which only take ``_lock``.
        self._refresh_lock = threading.Lock()
        self._functions: dict[str, FunctionConfig] = {}
        self._pools: dict[str, FunctionPool] = {}
        self._mappings: dict[str, SourceConfig | UnsupportedMapping] = {}
        self._sources: dict[str, EventSource] = {}
        self._published: list[dict[str, Any]] | None = None
        self._stopping = threading.Event()
        # Event sources run only between start() and stop(): a runner used just to invoke (the
        # CLI's `local invoke`) must not consume the daemon's queues.
        self._started = False
        self._threads: list[threading.Thread] = []
        self._async_queue: queue.Queue[AsyncInvocation | None] = queue.Queue()
        self._timers: set[threading.Timer] = set()
        self.clock = clock  # asynchronous events' age counts on it (as the schedules' fires)
        # Each function's asynchronous invocation settings, re-read at most every refresh
        # interval: (monotonic time read, settings).
        self._invoke_configs: dict[str, tuple[float, EventInvokeConfig]] = {}
        self._lambda = self._client("lambda")
        # Local IAM checks: each function's workers check their calls against its role's
        # policies (headwater.local.iam); HEADWATER_LOCAL_IAM=off turns them off.
        self.iam = PolicyFiles(
            self._client("iam"), region, state_dir / "iam" if state_dir is not None else None
        )
        # A service acting with a customer's role (the Scheduler's deliveries, destinations).
        self.roles = ServiceRoles(self._client("iam"), region, on=self.iam.on)
        # EventBridge Scheduler schedules fire through this runner (headwater.local.scheduler);
        # the daemon's runner turns it on, a runner used only to invoke does not.
        # Its deliveries are checked against each schedule's execution role like the functions'
        # calls against theirs (same switch).
        self.scheduler = (
            Scheduler(
                self._client("scheduler"),
                self.invoke_event,
                roles=self.roles,
                sqs=self._client("sqs"),
                events=self._client("events"),
                clock=clock,
                refresh_interval=refresh_interval,
            )
            if schedules
            else None
        )
        # Invocation records of asynchronous invocations, and the records stream mappings give
        # up on, go to the function's destinations with its execution role (same checks).
        self.destinations = Destinations(self._client, self.roles, self.invoke_event, region)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        self._started = True
        try:
            self.refresh()
        except Exception as exc:  # the background refresh keeps trying
            log.warning("initial discovery at %s failed: %s", self.endpoint_url, exc)
        for target, name in (
            (self._refresh_loop, "runner-refresh"),
            (self._async_loop, "runner-async"),
        ):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        if self.scheduler is not None:
            self.scheduler.start()

    def stop(self) -> None:
        self._stopping.set()
        if self.scheduler is not None:
            self.scheduler.stop()
        self._async_queue.put(None)
        with self._lock:
            for timer in self._timers:
                timer.cancel()
            sources = list(self._sources.values())
            pools = list(self._pools.values())
            self._sources.clear()
            self._pools.clear()
            self._mappings.clear()
            self._functions.clear()
        for source in sources:
            source.stop(timeout=0)  # signal all first, then wait below
        for pool in pools:
            pool.close(kill_busy=True)
        for source in sources:
            source.stop(timeout=5)
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()
        self.iam.close()
        if self.state_dir is not None:
            # After any refresh in flight has published; later ones see ``_stopping``.
            with self._refresh_lock:
                status.remove_mappings(self.state_dir)

    def __enter__(self) -> Runner:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- discovery -------------------------------------------------------------------------

    def _client(self, service: str) -> Any:
        # boto3 sessions are not thread-safe; one fresh session per client avoids sharing one.
        with self._client_lock:
            return boto3.session.Session(
                aws_access_key_id=EMULATOR_CREDENTIAL,
                aws_secret_access_key=EMULATOR_CREDENTIAL,
                region_name=self.region,
            ).client(
                service,
                endpoint_url=self.endpoint_url,
                config=Config(
                    retries={"mode": "standard", "max_attempts": 3},
                    connect_timeout=5,
                    read_timeout=30,
                ),
            )

    def refresh(self) -> None:
        """Re-read functions and event source mappings; start, restart or stop what changed."""
        with self._refresh_lock:
            self._refresh()

    def _refresh(self) -> None:
        functions: dict[str, FunctionConfig] = {}
        for page in self._lambda.get_paginator("list_functions").paginate():
            for conf in page["Functions"]:
                config = FunctionConfig.from_api(conf)
                functions[config.name] = config
        mappings = {}
        for page in self._lambda.get_paginator("list_event_source_mappings").paginate():
            for conf in page["EventSourceMappings"]:
                mappings[conf["UUID"]] = registry.resolve(conf)
        with self._lock:
            if self._stopping.is_set():
                return
            retired = self._apply_functions(functions)
            if self._started:
                self._apply_mappings(mappings)
        if self._started:
            self._publish_mappings()  # file I/O outside the lock; ``_refresh_lock`` keeps order
        # Stopping workers takes up to a second each: swap under the lock, close outside it, so
        # invocations of other functions (and of the new configuration) are not held up.
        for pool in retired:
            pool.close()
        self._refresh_policies()

    def _refresh_policies(self) -> None:
        """Rewrite the policies of the functions with workers; workers re-read changed files."""
        with self._lock:
            live = [pool.config for pool in self._pools.values() if pool.iam_spec is not None]
        for config in live:
            self.iam.write(config.name, config.role)

    def _apply_functions(self, functions: dict[str, FunctionConfig]) -> list[FunctionPool]:
        """Take in the new configurations; returns the pools to close (outside the lock)."""
        retired = []
        for name in list(self._functions):
            if functions.get(name) != self._functions[name]:
                log.info("function %s changed or removed: retiring its workers", name)
                del self._functions[name]
                pool = self._pools.pop(name, None)
                if pool is not None:
                    retired.append(pool)
        for name, config in functions.items():
            if name not in self._functions:
                log.info("function %s discovered (handler %s)", name, config.handler)
                self._functions[name] = config
        return retired

    def _apply_mappings(self, mappings: dict[str, SourceConfig | UnsupportedMapping]) -> None:
        for uuid in list(self._mappings):
            if mappings.get(uuid) != self._mappings[uuid]:
                del self._mappings[uuid]
                source = self._sources.pop(uuid, None)
                if source is not None:
                    log.info("mapping %s changed or removed: stopping its event source", uuid)
                    source.stop(timeout=0)
        for uuid, mapping in mappings.items():
            if uuid in self._mappings:
                continue
            self._mappings[uuid] = mapping
            if isinstance(mapping, UnsupportedMapping):
                # Once per mapping (and again only if it changes): refreshes repeat every 2 s.
                log.warning(
                    "mapping %s (%s -> %s) is not served: %s",
                    uuid,
                    mapping.source_arn,
                    _function_name(mapping.function_arn),
                    mapping.reason,
                )
            elif mapping.enabled:
                self._start_source(mapping)

    def _start_source(self, mapping: SourceConfig) -> None:
        function_arn = mapping.function_arn

        def invoke(event: dict[str, Any]) -> InvokeResult:
            return self.invoke(function_arn, event)

        def function_role() -> str | None:
            with self._lock:
                config = self._functions.get(_function_name(function_arn))
            return config.role if config is not None else None

        runtime = SourceRuntime(
            invoke,
            self._client,
            self.region,
            self.max_workers_per_function,
            destinations=self.destinations,
            function_role=function_role,
            checkpoints=self.stream_checkpoints,
        )
        source = registry.build(mapping, runtime)
        self._sources[mapping.uuid] = source
        source.start()
        log.info(
            "mapping %s: serving %s for %s %s",
            mapping.uuid,
            mapping.source_arn,
            _function_name(function_arn),
            source.describe(),
        )

    def _publish_mappings(self) -> None:
        """Write the mappings' status for ``headwater local status`` when it has changed."""
        if self.state_dir is None:
            return
        published = self.mappings_status()
        if published != self._published:
            status.write_mappings(self.state_dir, published)
            self._published = published

    def _refresh_loop(self) -> None:
        while not self._stopping.wait(self.refresh_interval):
            try:
                self.refresh()
            except Exception as exc:  # emulator restarting: keep what we have, try again
                log.warning("refresh from %s failed: %s", self.endpoint_url, exc)

    # -- introspection (status command, tests) ---------------------------------------------

    def functions(self) -> dict[str, FunctionConfig]:
        with self._lock:
            return dict(self._functions)

    def event_sources(self) -> dict[str, EventSource]:
        """The running event sources by mapping UUID."""
        with self._lock:
            return dict(self._sources)

    def mappings_status(self) -> list[dict[str, Any]]:
        """Every mapping found, served or not, as ``headwater local status`` shows it."""
        with self._lock:
            entries = []
            for uuid, mapping in sorted(self._mappings.items()):
                entry: dict[str, Any] = {
                    "uuid": uuid,
                    "function": _function_name(mapping.function_arn),
                    "source_arn": mapping.source_arn,
                }
                source = self._sources.get(uuid)
                if isinstance(mapping, UnsupportedMapping):
                    entry.update(mapping.describe())
                elif source is not None:
                    entry.update(source.describe())
                else:
                    entry["status"] = "disabled"
                entries.append(entry)
            return entries

    def worker_pids(self, function: str) -> list[int]:
        """PIDs of the function's idle warm workers."""
        with self._lock:
            pool = self._pools.get(_function_name(function))
        return pool.worker_pids() if pool else []

    # -- invocation ------------------------------------------------------------------------

    def _pool(self, function: str) -> FunctionPool:
        name = _function_name(function)
        with self._lock:
            known = name in self._functions
        if not known and not self._stopping.is_set():
            # Created a moment ago, before the next periodic refresh. Outside the lock: listing
            # over the network must not stall invocations of the functions already known.
            self.refresh()
        with self._lock:
            config = self._functions.get(name)
            if config is None:
                raise FunctionNotFound(f"function not found: {function}")
            pool = self._pools.get(name)
            if pool is not None:
                return pool
        # Reading the role's policies goes over the network: outside the lock.
        iam_spec = self.iam.write(config.name, config.role)
        with self._lock:
            pool = self._pools.get(name)
            if pool is None:
                pool = FunctionPool(
                    config,
                    self.endpoint_url,
                    self.region,
                    self.max_workers_per_function,
                    iam_spec=iam_spec,
                )
                self._pools[name] = pool
            return pool

    def invoke(
        self,
        function: str,
        event: dict,
        timeout: float | None = None,
        request_id: str | None = None,
    ) -> InvokeResult:
        """Invoke synchronously (RequestResponse).

        ``function`` is a name or ARN; ``timeout`` overrides the function's configured timeout
        for this invocation. Handler errors, timeouts and crashes come back in the result
        (``function_error`` set), never as exceptions; an unknown function raises
        FunctionNotFound. ``request_id`` is the asynchronous invocation's, kept by its retries.
        """
        try:
            return self._pool(function).invoke(event, timeout=timeout, request_id=request_id)
        except PoolClosed:
            if self._stopping.is_set():
                raise
            # The function changed between looking up its pool and starting: the new
            # configuration's pool serves it, as a new sandbox would on AWS.
            return self._pool(function).invoke(event, timeout=timeout, request_id=request_id)

    def invoke_async(self, function: str, event: dict) -> None:
        """Queue an asynchronous (Event) invocation, served as Lambda serves it: retried and
        dead-lettered per the function's event invoke configuration (``_run_async``)."""
        invocation = AsyncInvocation(function, event, str(uuid4()), self.clock())
        self._async_queue.put(invocation)

    def invoke_event(self, function: str, event: dict) -> None:
        """Invoke with InvocationType Event as a caller sees it: an unknown function is refused
        at once (FunctionNotFound, Lambda's 404), a known one is queued (Lambda's 202)."""
        name = _function_name(function)
        with self._lock:
            known = name in self._functions
        if not known and not self._stopping.is_set():
            self.refresh()  # created since the last periodic refresh?
            with self._lock:
                known = name in self._functions
        if not known:
            raise FunctionNotFound(f"function not found: {function}")
        self.invoke_async(function, event)

    def _async_loop(self) -> None:
        while True:
            item = self._async_queue.get()
            if item is None or self._stopping.is_set():
                return
            threading.Thread(
                target=self._run_async, args=(item,), name="runner-async-invoke", daemon=True
            ).start()

    def event_invoke_config(self, function: str) -> EventInvokeConfig:
        """The function's asynchronous invocation settings (AWS's defaults when it has none),
        read from the emulator at most once per refresh interval."""
        name = _function_name(function)
        now = time.monotonic()
        with self._lock:
            cached = self._invoke_configs.get(name)
        if cached is not None and now - cached[0] < self.refresh_interval:
            return cached[1]
        try:
            conf = self._lambda.get_function_event_invoke_config(FunctionName=name)
            config = EventInvokeConfig.from_api(conf)
        except self._lambda.exceptions.ResourceNotFoundException:
            config = EventInvokeConfig()
        except Exception as exc:  # emulator restarting: the last settings read, else defaults
            log.warning("cannot read the event invoke config of %s: %s", name, exc)
            return cached[1] if cached is not None else EventInvokeConfig()
        with self._lock:
            self._invoke_configs[name] = (now, config)
        return config

    def _run_async(self, invocation: AsyncInvocation) -> None:
        function = invocation.function
        config = self.event_invoke_config(function)
        age = (self.clock() - invocation.enqueued_at).total_seconds()
        if invocation.attempts and age > config.maximum_event_age_seconds:
            log.error(
                "async invoke of %s: event discarded after %d attempts, %.0fs old (maximum %ds)",
                function,
                invocation.attempts,
                age,
                config.maximum_event_age_seconds,
            )
            self._send_record(invocation, config.on_failure, EVENT_AGE_EXCEEDED)
            return
        try:
            result = self.invoke(function, invocation.event, request_id=invocation.request_id)
        except FunctionNotFound as exc:
            log.error("async invoke dropped: %s", exc)
            return
        except Exception as exc:
            log.warning("async invoke of %s failed: %s", function, exc)
            result = None
        if result is not None:
            payload, error = result.payload, result.function_error
        else:
            payload, error = {"errorMessage": "runner error"}, "Unhandled"
        invocation = dataclasses.replace(
            invocation,
            attempts=invocation.attempts + 1,
            last_payload=payload,
            last_error=error,
        )
        if error is None:
            self._send_record(invocation, config.on_success, SUCCESS)
            return
        if invocation.attempts > config.maximum_retry_attempts:
            log.error(
                "async invoke of %s failed after %d attempts: %s",
                function,
                invocation.attempts,
                payload,
            )
            self._send_record(invocation, config.on_failure, RETRIES_EXHAUSTED)
            return
        if self._stopping.is_set():
            return
        delays = self.async_retry_delays or (0.0,)
        delay = delays[min(invocation.attempts, len(delays)) - 1]
        log.warning("async invoke of %s failed (%s); retry in %.1fs", function, payload, delay)

        def retry() -> None:
            with self._lock:
                self._timers.discard(timer)
            if not self._stopping.is_set():
                self._async_queue.put(invocation)

        timer = threading.Timer(delay, retry)
        timer.daemon = True
        with self._lock:
            self._timers.add(timer)
        timer.start()

    def _send_record(
        self, invocation: AsyncInvocation, destination: str | None, condition: str
    ) -> None:
        """Send the invocation record to ``destination`` with the function's execution role."""
        if destination is None or self._stopping.is_set():
            return
        with self._lock:
            config = self._functions.get(_function_name(invocation.function))
        if config is None:
            log.error("async invoke of %s: record dropped, no such function", invocation.function)
            return
        record = invocation_record(
            function_arn=config.arn,
            invocation=invocation,
            condition=condition,
            payload=invocation.last_payload,
            function_error=invocation.last_error,
            now=self.clock(),
        )
        self.destinations.send(destination, record, config.role, config.name)
