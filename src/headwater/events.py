"""Parse the S3 "Object Created" EventBridge event, bare or inside SQS and SNS envelopes.

Shared by every capability's handler: the ingest processor reads it from SQS message bodies
(SNS raw delivery, or an SNS envelope around it), the lookup loader receives the EventBridge
event itself as its target.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


class InvalidEvent(ValueError):
    """The message is not an S3 EventBridge event: it must be retried and end in the DLQ."""


@dataclass(frozen=True)
class ObjectCreated:
    bucket: str
    key: str  # EventBridge keys are not URL-encoded (unlike classic S3 notifications)
    version_id: str | None
    etag: str | None
    size: int | None
    time: str | None  # the EventBridge event's time: when S3 created the object (seconds)
    # detail.object.sequencer: orders events of the same key only (hex, compare left-padded).
    sequencer: str | None = None


def parse_message(body: str) -> ObjectCreated | None:
    """The ObjectCreated in an SQS message ``body``; None for a valid S3 event of another kind
    (e.g. deleted).

    Accepts the raw EventBridge event (SNS raw message delivery) and, for robustness, an SNS
    envelope around it (a subscription without raw delivery).
    """
    return parse_event(_loads(body, "message body"))


def parse_event(document: Any) -> ObjectCreated | None:
    """Like ``parse_message`` for an event already decoded from JSON (a Lambda target's event)."""
    if isinstance(document, dict) and document.get("Type") == "Notification":
        message = document.get("Message")
        if not isinstance(message, str):
            raise InvalidEvent("SNS envelope without a string 'Message'")
        document = _loads(message, "SNS Message")
    if not isinstance(document, dict):
        raise InvalidEvent("the event is not a JSON object")
    if document.get("source") != "aws.s3" or not isinstance(document.get("detail"), dict):
        raise InvalidEvent("not an S3 EventBridge event (source must be 'aws.s3' with a detail)")
    if document.get("detail-type") != "Object Created":
        return None
    detail: dict[str, Any] = document["detail"]
    bucket = (detail.get("bucket") or {}).get("name")
    obj = detail.get("object") or {}
    key = obj.get("key")
    if not isinstance(bucket, str) or not bucket or not isinstance(key, str) or not key:
        raise InvalidEvent("S3 event without detail.bucket.name or detail.object.key")
    size = obj.get("size")
    return ObjectCreated(
        bucket=bucket,
        key=key,
        version_id=obj.get("version-id") or None,
        etag=obj.get("etag") or None,
        size=size if isinstance(size, int) else None,
        time=document.get("time"),
        sequencer=obj.get("sequencer") or None,
    )


def _loads(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError) as exc:
        raise InvalidEvent(f"{what} is not JSON: {exc}") from None
