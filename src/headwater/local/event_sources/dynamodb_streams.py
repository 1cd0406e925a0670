"""DynamoDB stream event source mappings: read each shard in order, invoke with batches, checkpoint.

Behaviour follows Lambda's stream poller ("Using AWS Lambda with Amazon DynamoDB", "Configuring
partial batch response with DynamoDB and Lambda", "Retain discarded records for a DynamoDB event
source in Lambda"):
- one iterator per shard (DescribeStream, GetShardIterator, GetRecords on the emulator), started
  at ``StartingPosition`` (TRIM_HORIZON: the oldest record; LATEST: records written from now on);
  shards are read four times a second when idle;
- a batch holds up to ``BatchSize`` records of one shard, in sequence order, closed when full,
  when ``MaximumBatchingWindowInSeconds`` has passed since its first record arrived (0: what is
  there), or before the event would pass Lambda's 6 MB synchronous payload limit;
- records reach the function in Lambda's shape (``dynamodb_record``): eventVersion "1.1",
  ``eventSourceARN``, ``ApproximateCreationDateTime`` in epoch seconds, ``userIdentity``
  {"type": "Service", "principalId": "dynamodb.amazonaws.com"} only on TTL deletions;
- every attempt starts at the shard's checkpoint and delivers a contiguous run from there:
  success moves the checkpoint past the batch; with ``ReportBatchItemFailures`` the lowest
  reported ``itemIdentifier`` (a SequenceNumber) becomes the checkpoint and the rest is retried
  (only the rest of that batch when bisecting, "the batch is bisected at the returned sequence
  number"); an empty, null or unknown identifier fails the whole batch; a function error retries
  the batch, halved first when ``BisectBatchOnFunctionError`` is on ("Splitting batches doesn't
  consume the retry quota");
- after ``MaximumRetryAttempts`` retries (-1: forever) the batch is given up, and records older
  than ``MaximumRecordAgeInSeconds`` (-1: no limit) are given up before invoking; what is given
  up is described to ``DestinationConfig.OnFailure`` (an SQS queue or SNS topic) in Lambda's
  invocation-record shape (``failure_record``), sent with the function's execution role, which
  must allow sqs:SendMessage / sns:Publish on it (checked like the functions' own calls);
- ``ParallelizationFactor`` above 1 is served as 1 (records of a shard stay in order); the
  mapping's status says so.

Checkpoints are kept by ``checkpoints.CheckpointStore`` (the runtime's, else one per process): a
mapping updated by Terraform, or the daemon restarted, resumes where each shard stood.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from headwater.local.event_sources.base import ACTIVE_STATES, SourceRuntime, SourceType
from headwater.local.event_sources.checkpoints import CheckpointStore
from headwater.local.lambda_service.workers import InvokeResult

log = logging.getLogger(__name__)

# Lambda polls a shard "at a base rate of 4 times per second".
POLL_INTERVAL = 0.25
# Lambda's synchronous invocation payload limit (6 MB), with room for the envelope.
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024 - 1024
GET_RECORDS_LIMIT = 1000
_MAX_RETRY_DELAY = 2.0
# Checkpoints of runners that were not given a store: as long as the process lives.
_PROCESS_CHECKPOINTS = CheckpointStore()


@dataclass(frozen=True)
class StreamMapping:
    uuid: str
    function_arn: str
    stream_arn: str
    enabled: bool
    starting_position: str = "TRIM_HORIZON"
    batch_size: int = 100
    batching_window: float = 0.0
    report_batch_item_failures: bool = False
    bisect: bool = False
    maximum_retry_attempts: int = -1
    maximum_record_age: int = -1
    on_failure: str | None = None
    parallelization_factor: int = 1

    @classmethod
    def from_api(cls, conf: dict[str, Any]) -> StreamMapping:
        on_failure = ((conf.get("DestinationConfig") or {}).get("OnFailure") or {}).get(
            "Destination"
        )

        def number(key: str, default: int) -> int:
            value = conf.get(key)
            return default if value is None else int(value)

        return cls(
            uuid=conf["UUID"],
            function_arn=conf["FunctionArn"],
            stream_arn=conf["EventSourceArn"],
            enabled=conf.get("State", "Enabled") in ACTIVE_STATES,
            starting_position=conf.get("StartingPosition") or "TRIM_HORIZON",
            batch_size=number("BatchSize", 100) or 100,
            batching_window=float(conf.get("MaximumBatchingWindowInSeconds") or 0),
            report_batch_item_failures="ReportBatchItemFailures"
            in (conf.get("FunctionResponseTypes") or []),
            bisect=bool(conf.get("BisectBatchOnFunctionError")),
            maximum_retry_attempts=number("MaximumRetryAttempts", -1),
            maximum_record_age=number("MaximumRecordAgeInSeconds", -1),
            on_failure=on_failure or None,
            parallelization_factor=number("ParallelizationFactor", 1) or 1,
        )

    @property
    def source_arn(self) -> str:
        return self.stream_arn

    @property
    def region(self) -> str:
        return self.stream_arn.split(":")[3]


def _epoch_seconds(value: Any) -> float:
    """GetRecords' ApproximateCreationDateTime (a datetime from botocore) -> Lambda's number:
    epoch seconds, rounded down to the second as DynamoDB Streams reports it."""
    if isinstance(value, datetime):
        return float(int(value.timestamp()))
    return float(int(float(value)))


def dynamodb_record(record: dict[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """One GetRecords record (botocore's shape) -> one record of Lambda's DynamoDB event."""
    stream = dict(record.get("dynamodb") or {})
    if "ApproximateCreationDateTime" in stream:
        stream["ApproximateCreationDateTime"] = _epoch_seconds(
            stream["ApproximateCreationDateTime"]
        )
    shaped: dict[str, Any] = {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": stream,
        "eventSourceARN": stream_arn,
    }
    identity = record.get("userIdentity")
    if identity:
        shaped["userIdentity"] = {
            "type": identity.get("Type"),
            "principalId": identity.get("PrincipalId"),
        }
    return shaped


def failure_checkpoint(result: InvokeResult, sequence_numbers: list[str]) -> str | None:
    """Where the next attempt must start after this invocation: None when the whole batch
    succeeded, else the sequence number of the first record to retry."""
    everything = sequence_numbers[0]
    if not result.ok:
        return everything
    response = result.payload
    # Null or empty responses and failure lists mean complete success, as for SQS.
    if response is None or response == "":
        return None
    if not isinstance(response, dict):
        return everything
    failures = response.get("batchItemFailures")
    if failures is None:
        return None
    if not isinstance(failures, list):
        return everything
    position = {seq: n for n, seq in enumerate(sequence_numbers)}
    lowest: int | None = None
    for item in failures:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or identifier not in position:
            # Empty, null or unknown identifiers: "Lambda treats this as a complete failure".
            log.warning("invalid batchItemFailures entry %r: whole batch failed", item)
            return everything
        n = position[identifier]
        lowest = n if lowest is None else min(lowest, n)
    return None if lowest is None else sequence_numbers[lowest]


def _iso(moment: float, millis: bool) -> str:
    stamp = datetime.fromtimestamp(moment, UTC)
    if millis:
        return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def failure_record(
    mapping: StreamMapping,
    shard_id: str,
    records: list[dict[str, Any]],
    condition: str,
    invoke_count: int,
    result: InvokeResult | None,
    now: float,
) -> dict[str, Any]:
    """Lambda's invocation record for records a stream mapping gave up on (on-failure shape).

    ``records`` are in Lambda's shape; ``result`` is the last invocation's (None when the
    records were given up before any invocation: no ``responseContext`` then)."""
    first, last = records[0]["dynamodb"], records[-1]["dynamodb"]
    document: dict[str, Any] = {
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": mapping.function_arn,
            "condition": condition,
            "approximateInvokeCount": invoke_count,
        },
    }
    if result is not None:
        response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if result.function_error:
            response["functionError"] = result.function_error
        document["responseContext"] = response
    document["version"] = "1.0"
    document["timestamp"] = _iso(now, millis=True)
    document["DDBStreamBatchInfo"] = {
        "shardId": shard_id,
        "startSequenceNumber": first["SequenceNumber"],
        "endSequenceNumber": last["SequenceNumber"],
        "approximateArrivalOfFirstRecord": _iso(
            first.get("ApproximateCreationDateTime", now), millis=False
        ),
        "approximateArrivalOfLastRecord": _iso(
            last.get("ApproximateCreationDateTime", now), millis=False
        ),
        "batchSize": len(records),
        "streamArn": mapping.stream_arn,
    }
    return document


@dataclass
class _Shard:
    shard_id: str
    iterator: str | None = None
    last_fetched: str | None = None  # sequence number of the last record read into ``buffer``
    buffer: list[dict[str, Any]] = field(default_factory=list)  # Lambda-shaped, from checkpoint
    first_arrival: float | None = None  # when the oldest buffered record was read (window)
    plan: list[int] = field(default_factory=list)  # sizes of the next attempts (bisect)
    retries: int = 0  # retries of the attempt starting at the checkpoint
    invokes: int = 0  # invocations of the records at the checkpoint (approximateInvokeCount)


class StreamPoller:
    """One poller thread for one enabled DynamoDB stream mapping."""

    def __init__(self, mapping: StreamMapping, runtime: SourceRuntime) -> None:
        self.mapping = mapping
        self._runtime = runtime
        self._invoke = runtime.invoke
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"ddb-stream-{mapping.uuid[:8]}", daemon=True
        )
        self._shards: dict[str, _Shard] = {}
        self._checkpoints = runtime.checkpoints or _PROCESS_CHECKPOINTS
        self.invocations = 0  # batches handed to the function (status and tests)
        self.failures_sent = 0  # invocation records sent to the on-failure destination
        self.last_error: str | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def describe(self) -> dict[str, Any]:
        mapping = self.mapping
        described: dict[str, Any] = {
            "status": "polling" if self.running else "stopped",
            "stream": mapping.stream_arn,
            "starting_position": mapping.starting_position,
            "batch_size": mapping.batch_size,
            "batching_window": mapping.batching_window,
            "report_batch_item_failures": mapping.report_batch_item_failures,
            "bisect": mapping.bisect,
            "maximum_retry_attempts": mapping.maximum_retry_attempts,
            "maximum_record_age": mapping.maximum_record_age,
            "on_failure": mapping.on_failure,
            "concurrency": 1,
            "checkpoints": {
                shard_id: self._checkpoint(shard_id) for shard_id in list(self._shards)
            },
            "batches": self.invocations,
            "failures_sent": self.failures_sent,
        }
        if mapping.parallelization_factor != 1:
            described["note"] = (
                f"ParallelizationFactor {mapping.parallelization_factor} is served as 1 locally "
                "(one batch per shard at a time)"
            )
        return described

    def _checkpoint(self, shard_id: str) -> str | None:
        key = self._checkpoints.key(self.mapping.uuid, self.mapping.stream_arn, shard_id)
        return self._checkpoints.get(key)

    # -- reading ---------------------------------------------------------------------------

    def _run(self) -> None:
        client = None
        backoff = POLL_INTERVAL
        while not self._stop.is_set():
            try:
                if client is None:
                    client = self._runtime.client("dynamodbstreams")
                busy = self._poll_once(client)
                backoff = POLL_INTERVAL
                if not busy:
                    self._stop.wait(POLL_INTERVAL)
            except Exception as exc:  # emulator restarting, table deleted, iterator expired...
                self.last_error = str(exc)
                log.warning(
                    "mapping %s: reading %s failed (%s); retrying in %.1fs",
                    self.mapping.uuid,
                    self.mapping.stream_arn,
                    exc,
                    backoff,
                )
                for shard in self._shards.values():
                    shard.iterator = None  # re-acquired from where it stood
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)

    def _poll_once(self, client: Any) -> bool:
        """Read and serve each shard once; True when some shard had a batch to invoke."""
        description = client.describe_stream(StreamArn=self.mapping.stream_arn)
        busy = False
        for info in description["StreamDescription"].get("Shards") or []:
            shard = self._shards.get(info["ShardId"])
            if shard is None:
                shard = _Shard(info["ShardId"])
                self._iterator(client, shard)  # a LATEST position is taken now
                self._shards[shard.shard_id] = shard
            self._read(client, shard)
            if shard.buffer and self._batch_ready(shard):
                self._serve(shard)
                busy = True
            if self._stop.is_set():
                break
        return busy

    def _iterator(self, client: Any, shard: _Shard) -> str:
        if shard.iterator is None:
            after = shard.last_fetched or self._checkpoint(shard.shard_id)
            if after is not None:
                kwargs = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": after}
            else:
                kwargs = {"ShardIteratorType": self.mapping.starting_position}
            shard.iterator = client.get_shard_iterator(
                StreamArn=self.mapping.stream_arn, ShardId=shard.shard_id, **kwargs
            )["ShardIterator"]
        return shard.iterator

    def _read(self, client: Any, shard: _Shard) -> None:
        """Top the shard's buffer up to at least one batch (no read when it already holds one)."""
        if len(shard.buffer) >= self.mapping.batch_size:
            return
        response = client.get_records(
            ShardIterator=self._iterator(client, shard), Limit=GET_RECORDS_LIMIT
        )
        shard.iterator = response.get("NextShardIterator")
        records = response.get("Records") or []
        if not records:
            return
        region = self.mapping.region
        shaped = [dynamodb_record(r, self.mapping.stream_arn, region) for r in records]
        if not shard.buffer:
            shard.first_arrival = time.monotonic()
        shard.buffer.extend(shaped)
        shard.last_fetched = shaped[-1]["dynamodb"]["SequenceNumber"]

    def _batch_ready(self, shard: _Shard) -> bool:
        mapping = self.mapping
        if len(shard.buffer) >= mapping.batch_size or shard.plan or shard.retries:
            return True
        waited = time.monotonic() - (shard.first_arrival or 0.0)
        return mapping.batching_window <= 0 or waited >= mapping.batching_window

    # -- invoking --------------------------------------------------------------------------

    def _next_batch(self, shard: _Shard) -> list[dict[str, Any]]:
        size = shard.plan[0] if shard.plan else self.mapping.batch_size
        batch: list[dict[str, Any]] = []
        total = 0
        for record in shard.buffer[:size]:
            total += len(json.dumps(record)) + 2
            if batch and total > MAX_PAYLOAD_BYTES:
                break
            batch.append(record)
        return batch

    def _serve(self, shard: _Shard) -> None:
        """One attempt at the shard's checkpoint (after giving up records too old)."""
        self._give_up_aged(shard)
        if not shard.buffer:
            return
        batch = self._next_batch(shard)
        sequence_numbers = [r["dynamodb"]["SequenceNumber"] for r in batch]
        self.invocations += 1
        shard.invokes += 1
        try:
            result = self._invoke({"Records": batch})
        except Exception as exc:  # not invoked (function missing, runner stopping): no retry
            log.warning("mapping %s: invoke failed: %s", self.mapping.uuid, exc)
            shard.invokes -= 1
            self._stop.wait(POLL_INTERVAL)
            return
        retry_from = failure_checkpoint(result, sequence_numbers)
        if retry_from is None:
            self._acknowledge(shard, len(batch))
            if shard.plan:
                shard.plan.pop(0)
            return
        done = sequence_numbers.index(retry_from)
        if not result.ok:
            log.warning(
                "mapping %s: %s failed on a batch of %d (%s)",
                self.mapping.uuid,
                result.function_name,
                len(batch),
                result.error_type,
            )
        if done:  # a partial failure: the records before it succeeded
            self._acknowledge(shard, done)
            remaining = len(batch) - done
            if shard.plan:
                shard.plan.pop(0)
            if self.mapping.bisect:
                shard.plan.insert(0, remaining)  # "retries only the remaining records"
        elif not result.ok and self.mapping.bisect and len(batch) > 1:
            half = len(batch) // 2
            if shard.plan:
                shard.plan.pop(0)
            shard.plan[0:0] = [half, len(batch) - half]
            return  # splitting does not consume the retry quota
        limit = self.mapping.maximum_retry_attempts
        if limit >= 0 and shard.retries >= limit:
            failed = batch[done:]
            self._give_up(shard, failed, "RetryAttemptsExhausted", result)
            if shard.plan:
                shard.plan.pop(0)
            return
        shard.retries += 1
        self._stop.wait(min(0.05 * 2**shard.retries, _MAX_RETRY_DELAY))

    def _acknowledge(self, shard: _Shard, count: int) -> None:
        """The first ``count`` buffered records are done: the checkpoint moves past them."""
        done, shard.buffer = shard.buffer[:count], shard.buffer[count:]
        if done:
            self._checkpoints.set(
                self._checkpoints.key(self.mapping.uuid, self.mapping.stream_arn, shard.shard_id),
                done[-1]["dynamodb"]["SequenceNumber"],
            )
            shard.retries = 0
            shard.invokes = 0
            shard.first_arrival = time.monotonic() if shard.buffer else None

    def _give_up_aged(self, shard: _Shard) -> None:
        age = self.mapping.maximum_record_age
        if age < 0:
            return
        now = time.time()
        aged = 0
        for record in shard.buffer:
            created = record["dynamodb"].get("ApproximateCreationDateTime")
            if created is None or now - created <= age:
                break
            aged += 1
        if aged:
            self._give_up(shard, shard.buffer[:aged], "RecordAgeExceeded", None)
            shard.plan.clear()

    def _give_up(
        self,
        shard: _Shard,
        records: list[dict[str, Any]],
        condition: str,
        result: InvokeResult | None,
    ) -> None:
        """Skip ``records`` (the head of the buffer) and describe them to the destination."""
        log.warning(
            "mapping %s: giving up %d record(s) %s..%s of %s (%s)",
            self.mapping.uuid,
            len(records),
            records[0]["dynamodb"]["SequenceNumber"],
            records[-1]["dynamodb"]["SequenceNumber"],
            shard.shard_id,
            condition,
        )
        document = failure_record(
            self.mapping,
            shard.shard_id,
            records,
            condition,
            shard.invokes,
            result,
            time.time(),
        )
        if self.mapping.on_failure:
            # Sent before the checkpoint moves: a send that raises leaves the records in place,
            # and the next attempt gives them up (and sends) again.
            self._send_failure(document)
        self._acknowledge(shard, len(records))

    def _send_failure(self, document: dict[str, Any]) -> None:
        destinations, role = self._runtime.destinations, self._runtime.function_role
        if destinations is None:
            log.error("mapping %s: no destinations to send the record to", self.mapping.uuid)
            return
        function = self.mapping.function_arn.split(":")[6]
        role_arn = role() if role is not None else None
        reason = (
            destinations.send(self.mapping.on_failure or "", document, role_arn, function)
            if role_arn
            else f"function {function} has no execution role"
        )
        if reason is not None:
            self.last_error = reason
            return
        self.failures_sent += 1


def _build(mapping: StreamMapping, runtime: SourceRuntime) -> StreamPoller:
    return StreamPoller(mapping, runtime)


SOURCE_TYPE = SourceType(StreamMapping.from_api, _build)
