"""SQS event source mappings: poll a queue, invoke the function with batches, delete what succeeded.

Behaviour follows Lambda's SQS poller:
- a batch closes when it holds ``BatchSize`` records or when ``MaximumBatchingWindowInSeconds``
  has passed since its first record (window 0: whatever one receive returned);
- success deletes the whole batch; a function error or timeout deletes nothing, so the messages
  reappear after the queue's visibility timeout;
- with ``ReportBatchItemFailures`` the response's ``batchItemFailures`` stay on the queue and the
  rest is deleted; a malformed response fails the whole batch, as on AWS;
- redrive to the DLQ after ``maxReceiveCount`` is done by the queue itself (moto's SQS moves such
  a message to the dead-letter queue on the next receive, like AWS).
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from headwater.local.event_sources.base import ACTIVE_STATES, SourceRuntime, SourceType
from headwater.local.lambda_service.workers import InvokeResult

log = logging.getLogger(__name__)

# Lambda's SQS event carries these system attributes (the last three only for FIFO queues).
_RECORD_ATTRIBUTES = (
    "ApproximateReceiveCount",
    "SentTimestamp",
    "SenderId",
    "ApproximateFirstReceiveTimestamp",
    "AWSTraceHeader",
    "SequenceNumber",
    "MessageGroupId",
    "MessageDeduplicationId",
)
# Short long-poll waits keep stop() prompt while still not spinning on an empty queue.
_RECEIVE_WAIT_SECONDS = 1
_MAX_BACKOFF_SECONDS = 5.0


@dataclass(frozen=True)
class SqsMapping:
    uuid: str
    function_arn: str
    queue_arn: str
    enabled: bool
    batch_size: int = 10
    batching_window: float = 0.0
    report_batch_item_failures: bool = False
    maximum_concurrency: int | None = None

    @classmethod
    def from_api(cls, conf: dict[str, Any]) -> SqsMapping:
        scaling = conf.get("ScalingConfig") or {}
        return cls(
            uuid=conf["UUID"],
            function_arn=conf["FunctionArn"],
            queue_arn=conf["EventSourceArn"],
            enabled=conf.get("State", "Enabled") in ACTIVE_STATES,
            batch_size=int(conf.get("BatchSize") or 10),
            batching_window=float(conf.get("MaximumBatchingWindowInSeconds") or 0),
            report_batch_item_failures="ReportBatchItemFailures"
            in (conf.get("FunctionResponseTypes") or []),
            maximum_concurrency=scaling.get("MaximumConcurrency"),
        )

    @property
    def source_arn(self) -> str:
        return self.queue_arn

    @property
    def queue_name(self) -> str:
        return self.queue_arn.split(":")[5]

    @property
    def account_id(self) -> str:
        return self.queue_arn.split(":")[4]


def _lambda_message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    """SQS API attribute (StringValue, BinaryValue bytes) -> Lambda's lower-camel, base64 shape."""
    shaped: dict[str, Any] = {
        "stringListValues": list(value.get("StringListValues") or []),
        "binaryListValues": [
            base64.b64encode(b).decode() for b in value.get("BinaryListValues") or []
        ],
        "dataType": value["DataType"],
    }
    if "StringValue" in value:
        shaped["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        shaped["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    return shaped


def sqs_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One ReceiveMessage message -> one record of Lambda's SQS event."""
    attributes = message.get("Attributes") or {}
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": {k: attributes[k] for k in _RECORD_ATTRIBUTES if k in attributes},
        "messageAttributes": {
            name: _lambda_message_attribute(value)
            for name, value in (message.get("MessageAttributes") or {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def ids_to_keep(result: InvokeResult, batch_ids: list[str], report_failures: bool) -> set[str]:
    """Message ids that must stay on the queue after this invocation."""
    everything = set(batch_ids)
    if not result.ok:
        return everything
    if not report_failures:
        return set()
    response = result.payload
    # Null or empty responses, and empty or null failure lists, mean complete success on AWS.
    if response is None or response == "":
        return set()
    if not isinstance(response, dict):
        log.warning("invalid partial batch response %r: whole batch failed", response)
        return everything
    failures = response.get("batchItemFailures")
    if failures is None:
        return set()
    if not isinstance(failures, list):
        log.warning("batchItemFailures is not a list: whole batch failed")
        return everything
    keep: set[str] = set()
    for item in failures:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or identifier not in everything:
            # Empty, null, misspelt or unknown identifiers fail the whole batch, as on AWS.
            log.warning("invalid batchItemFailures entry %r: whole batch failed", item)
            return everything
        keep.add(identifier)
    return keep


class SqsPoller:
    """One poller thread for one enabled SQS event source mapping."""

    def __init__(
        self,
        mapping: SqsMapping,
        invoke: Callable[[dict[str, Any]], InvokeResult],
        sqs_client_factory: Callable[[], Any],
        region: str,
        concurrency: int = 1,
    ) -> None:
        self.mapping = mapping
        self._invoke = invoke
        self._client_factory = sqs_client_factory
        self._region = region
        self._concurrency = max(1, concurrency)
        self._stop = threading.Event()
        self._slots = threading.Semaphore(self._concurrency)
        self._executor = ThreadPoolExecutor(
            max_workers=self._concurrency, thread_name_prefix=f"esm-{mapping.uuid[:8]}"
        )
        self._thread = threading.Thread(
            target=self._run, name=f"sqs-poller-{mapping.uuid[:8]}", daemon=True
        )
        self._queue_url: str | None = None
        self.invocations = 0  # batches handed to the function (for status and tests)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)
        if not self._thread.is_alive():
            # In-flight batches finish (or fail when their worker is killed); do not wait.
            self._executor.shutdown(wait=False, cancel_futures=True)

    def join_inflight(self, timeout: float) -> None:
        """Wait until no batch is being processed (used after stop() by an orderly shutdown)."""
        deadline = time.monotonic() + timeout
        acquired = 0
        while acquired < self._concurrency and time.monotonic() < deadline:
            if self._slots.acquire(timeout=0.1):
                acquired += 1
        for _ in range(acquired):
            self._slots.release()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def describe(self) -> dict[str, Any]:
        mapping = self.mapping
        return {
            "status": "polling" if self.running else "stopped",
            "queue": mapping.queue_name,
            "batch_size": mapping.batch_size,
            "batching_window": mapping.batching_window,
            "report_batch_item_failures": mapping.report_batch_item_failures,
            "concurrency": self._concurrency,
            "batches": self.invocations,
        }

    def _run(self) -> None:
        client = None
        backoff = 0.5
        while not self._stop.is_set():
            if not self._slots.acquire(timeout=0.5):
                continue  # every slot busy: Lambda stops polling at maximum concurrency too
            handed_off = False
            try:
                if client is None:
                    client = self._client_factory()
                batch = self._collect_batch(client)
                if batch and not self._stop.is_set():  # when stopping, let them reappear
                    self._executor.submit(self._process, client, batch)
                    handed_off = True
                backoff = 0.5
            except Exception as exc:  # emulator restarting, queue deleted, network blip...
                log.warning(
                    "mapping %s: polling %s failed (%s); retrying in %.1fs",
                    self.mapping.uuid,
                    self.mapping.queue_name,
                    exc,
                    backoff,
                )
                self._queue_url = None
                self._stop.wait(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF_SECONDS)
            finally:
                if not handed_off:
                    self._slots.release()

    def _url(self, client: Any) -> str:
        if self._queue_url is None:
            self._queue_url = client.get_queue_url(
                QueueName=self.mapping.queue_name, QueueOwnerAWSAccountId=self.mapping.account_id
            )["QueueUrl"]
        return self._queue_url

    def _collect_batch(self, client: Any) -> list[dict[str, Any]]:
        """Receive until the batch is full or its window has passed (window 0: one receive)."""
        mapping = self.mapping
        batch: list[dict[str, Any]] = []
        window_ends: float | None = None
        while not self._stop.is_set():
            wait = _RECEIVE_WAIT_SECONDS
            if window_ends is not None:
                wait = max(0, min(wait, int(window_ends - time.monotonic())))
            response = client.receive_message(
                QueueUrl=self._url(client),
                MaxNumberOfMessages=min(10, mapping.batch_size - len(batch)),
                WaitTimeSeconds=wait,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            messages = response.get("Messages") or []
            if messages and window_ends is None:
                window_ends = time.monotonic() + mapping.batching_window
            batch.extend(messages)
            if len(batch) >= mapping.batch_size:
                break
            if batch and (mapping.batching_window <= 0 or time.monotonic() >= window_ends):
                break
            if not batch:
                break  # nothing arrived during this wait: let the loop re-check stop()
            if not messages:
                self._stop.wait(0.05)  # window still open; moto may return at once
        return batch

    def _process(self, client: Any, messages: list[dict[str, Any]]) -> None:
        try:
            records = [sqs_record(m, self.mapping.queue_arn, self._region) for m in messages]
            self.invocations += 1
            try:
                result = self._invoke({"Records": records})
            except Exception as exc:  # function vanished or runner stopping
                log.warning("mapping %s: invoke failed: %s", self.mapping.uuid, exc)
                return
            ids = [m["MessageId"] for m in messages]
            keep = ids_to_keep(result, ids, self.mapping.report_batch_item_failures)
            if not result.ok:
                log.warning(
                    "mapping %s: %s failed on a batch of %d (%s): %s",
                    self.mapping.uuid,
                    result.function_name,
                    len(ids),
                    result.error_type,
                    (result.payload or {}).get("errorMessage")
                    if isinstance(result.payload, dict)
                    else "",
                )
            self._delete(client, [m for m in messages if m["MessageId"] not in keep])
        except Exception:
            log.exception("mapping %s: processing a batch failed", self.mapping.uuid)
        finally:
            self._slots.release()

    def _delete(self, client: Any, messages: list[dict[str, Any]]) -> None:
        for start in range(0, len(messages), 10):
            chunk = messages[start : start + 10]
            response = client.delete_message_batch(
                QueueUrl=self._url(client),
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)
                ],
            )
            for failure in response.get("Failed") or []:
                log.warning("mapping %s: delete failed: %s", self.mapping.uuid, failure)


def _build(mapping: SqsMapping, runtime: SourceRuntime) -> SqsPoller:
    cap = runtime.max_concurrency
    return SqsPoller(
        mapping,
        runtime.invoke,
        lambda: runtime.client("sqs"),
        runtime.region,
        concurrency=min(mapping.maximum_concurrency or cap, cap),
    )


SOURCE_TYPE = SourceType(SqsMapping.from_api, _build)
