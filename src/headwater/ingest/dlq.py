"""Read what waits in a dead-letter queue without taking it away.

SQS has no peek. ``ReceiveMessage`` with a visibility timeout of 0 leaves every message visible,
so each call may return the same few again and a scan never ends. Instead each message is
received once with a short visibility timeout (so the next receive returns others) and all are
made visible again with ``ChangeMessageVisibilityBatch`` as soon as the scan ends, on errors too.

What that does to the DLQ: nothing is deleted and retention is unchanged (SQS keeps a message's
original enqueue time); each message's receive count rises by one, which moves nothing because a
DLQ has no redrive policy of its own; for the few seconds of the scan another reader (an
operator, a redrive move task) does not see the messages, and sees all of them again after.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

# Held invisible at most this long if the scan dies before releasing them (a crash, Ctrl-C
# during the release): long enough for a large scan, short enough to clear by itself.
HOLD_SECONDS = 30


@dataclass(frozen=True)
class Parked:
    """One message of a DLQ: the S3 object its event names (None when it names none)."""

    message_id: str
    key: str | None
    version_id: str | None
    etag: str | None


@dataclass
class Peeked:
    messages: list[Parked]
    complete: bool  # False when more messages waited than ``limit`` allowed to read


def peek(sqs: Any, queue_url: str, limit: int = 1000) -> Peeked:
    """Every message of the queue (up to ``limit``), left in place for a redrive."""
    parked: dict[str, Parked] = {}
    handles: list[str] = []
    complete = True
    try:
        while True:
            if len(parked) >= limit:
                complete = False
                break
            messages = sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=HOLD_SECONDS,
                WaitTimeSeconds=0,
            ).get("Messages", [])
            if not messages:
                break
            for message in messages:
                handles.append(message["ReceiptHandle"])
                parked[message["MessageId"]] = _parked(message)
    finally:
        _release(sqs, queue_url, handles)
    return Peeked(list(parked.values()), complete)


def _release(sqs: Any, queue_url: str, handles: list[str]) -> None:
    for batch in _chunks(handles, 10):
        entries = [
            {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": 0}
            for i, handle in enumerate(batch)
        ]
        sqs.change_message_visibility_batch(QueueUrl=queue_url, Entries=entries)


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _parked(message: dict[str, Any]) -> Parked:
    """The object an S3 EventBridge event names, in a raw body or an SNS envelope."""
    try:
        event = json.loads(message.get("Body", ""))
        if isinstance(event, dict) and event.get("Type") == "Notification":
            event = json.loads(event["Message"])
        obj = event["detail"]["object"]
        key = obj["key"]
    except (ValueError, KeyError, TypeError):
        return Parked(message["MessageId"], None, None, None)
    return Parked(message["MessageId"], key, obj.get("version-id"), obj.get("etag"))
