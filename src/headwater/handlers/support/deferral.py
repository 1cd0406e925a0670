"""Re-send a deferred SQS record to its own queue as a new message.

A record not started for lack of time (``time_budget.OutOfTime``) used to be reported as a batch
item failure. SQS counts receives, not failures, so every deferral spent one of the message's
``maxReceiveCount`` receives and a file that only ever waited behind others could reach the DLQ
without having failed once. Sending the same body again as a new message (its receive count
starts at zero) and reporting the original as processed breaks that link.

A counter in a message attribute bounds the loop: after ``MAX_RESENDS`` re-sends the record is
returned to the queue like a failure, and its own receives take it to the DLQ as before (a file
deferred that often means the function's timeout is too short for its batches).

Order: the new message is sent before the original is reported as done, so a crash in between
duplicates the record (processing is idempotent per version) and never loses it; a failed send
leaves the record as a failure (the old behaviour), never as done.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

# Message attribute names may use letters, digits, "-", "_" and "."; "AWS." and "Amazon." are
# reserved. A Number: SQS checks it parses as one.
RESENDS_ATTRIBUTE = "headwater-deferrals"
# Enough for a file to wait behind others through sustained load (each deferral happens only
# after an invocation used up its time on other records), few enough that a loop shows quickly.
MAX_RESENDS = 10


@dataclass(frozen=True)
class Resend:
    """What happened to a deferred record: ``sent`` (new message id) or why not."""

    count: int  # deferrals so far, this one included
    message_id: str | None = None
    refused: str | None = None  # the reason the record goes back to the queue as a failure

    @property
    def sent(self) -> bool:
        return self.message_id is not None


def deferrals(record: Any) -> int:
    """How often this record was deferred and re-sent before (0 for an original message)."""
    attribute = (record.raw_event.get("messageAttributes") or {}).get(RESENDS_ATTRIBUTE) or {}
    value = attribute.get("stringValue")
    try:
        return max(0, int(value)) if value is not None else 0
    except ValueError:
        return 0  # someone else's malformed attribute: count from here


def resend(sqs: Any, record: Any, max_resends: int = MAX_RESENDS) -> Resend:
    """Send ``record``'s body again to the queue it came from, with the counter incremented.

    ``record`` is Powertools' SQSRecord (its ``queue_url`` is built from the event source ARN).
    """
    count = deferrals(record) + 1
    if count > max_resends:
        return Resend(count, refused=f"deferred {count - 1} times already (limit {max_resends})")
    attributes = _api_attributes(record.raw_event.get("messageAttributes") or {})
    attributes[RESENDS_ATTRIBUTE] = {"DataType": "Number", "StringValue": str(count)}
    try:
        sent = sqs.send_message(
            QueueUrl=record.queue_url, MessageBody=record.body, MessageAttributes=attributes
        )
    except (ClientError, BotoCoreError) as exc:
        code = exc.response.get("Error", {}).get("Code") if isinstance(exc, ClientError) else None
        return Resend(count, refused=f"re-send failed: {code or type(exc).__name__}")
    return Resend(count, message_id=sent["MessageId"])


def _api_attributes(lambda_shaped: dict[str, Any]) -> dict[str, Any]:
    """Lambda's record attributes (lower camel case, binary in base64) -> SendMessage's shape,
    so a re-sent message keeps whatever attributes its producer set."""
    converted: dict[str, Any] = {}
    for name, value in lambda_shaped.items():
        data_type = value.get("dataType")
        if not data_type:
            continue
        if value.get("stringValue") is not None:
            converted[name] = {"DataType": data_type, "StringValue": value["stringValue"]}
        elif value.get("binaryValue") is not None:
            binary = base64.b64decode(value["binaryValue"])
            converted[name] = {"DataType": data_type, "BinaryValue": binary}
    return converted
