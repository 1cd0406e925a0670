"""S3 patches: EventBridge events in AWS's shape, notification config and bucket policies as AWS.

1. ``moto.s3.notifications._send_event_bridge_message`` is replaced: S3 -> EventBridge events in
   AWS's exact shape (``etag`` not ``eTag``, ``reason`` PutObject / POST Object / CopyObject /
   CompleteMultipartUpload / DeleteObject, ``version-id`` only for versioned buckets, a unique id,
   increasing sequencer, ISO time) delivered to the default bus only (moto sends it to every bus),
   through the patched rule delivery so input transformers and rule state apply. Only
   "Object Created" and "Object Deleted" are emitted: moto fires tag events on every PutObject.
   A multipart upload emits one event, CompleteMultipartUpload's, as AWS does (moto also emitted
   the PutObject event of the put_object call that stores the assembled object).
2. ``GetBucketNotificationConfiguration`` returns ``<EventBridgeConfiguration/>`` when EventBridge
   delivery is on (moto stores it but omits it: a perpetual ``eventbridge = false -> true`` diff).
3. Bucket policies are evaluated with ``aws:SecureTransport`` = true, and moto's condition
   evaluator learns the ``Bool`` operator. moto evaluates bucket policies without request context
   and ignores operators other than StringEquals, and a statement whose condition fails
   counts as a Deny, so a TLS-only policy (Deny when
   SecureTransport is false) denies every request. The emulator listens on loopback in plain
   HTTP, standing in for AWS's HTTPS endpoint; the policy itself is still deployed and checked.
"""

from __future__ import annotations

import functools
import itertools
import json
import logging
import secrets
import string
import threading
import uuid
from typing import Any

from headwater.local.moto_patches.events import iso_time
from headwater.local.persistence.determinism import request_counter, wall_time

log = logging.getLogger(__name__)


def apply() -> None:
    _patch_s3_eventbridge_events()
    _patch_multipart_single_event()
    _patch_s3_notification_eventbridge()
    _patch_bucket_policy_secure_transport()


# --- 1. S3 -> EventBridge events in AWS's shape ---------------------------------------------------


_sequence = itertools.count()
_sequence_lock = threading.Lock()

_CREATED_REASONS = {
    "s3:ObjectCreated:Put": "PutObject",
    "s3:ObjectCreated:Post": "POST Object",
    "s3:ObjectCreated:Copy": "CopyObject",
    "s3:ObjectCreated:CompleteMultipartUpload": "CompleteMultipartUpload",
}


def _patch_s3_eventbridge_events() -> None:
    from moto.s3 import notifications

    notifications._send_event_bridge_message = _send_s3_eventbridge_event


def _next_sequencer() -> str:
    # AWS sequencers are hex strings that grow for later events on the same key.
    with _sequence_lock:
        counter = request_counter()  # replays the same within a journaled request
        counter = next(_sequence) if counter is None else counter
        return f"{int(wall_time() * 1e9):016X}{counter % 0x10000:04X}"


def _request_id() -> str:
    alphabet = string.ascii_uppercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(16))


def s3_eventbridge_event(account_id: str, bucket: Any, event_name: str, key: Any) -> dict | None:
    """Build the EventBridge event S3 emits for ``event_name`` on ``key`` (None: not emitted)."""
    from moto.s3.notifications import _detail_type

    name = str(getattr(event_name, "value", event_name))
    try:
        detail_type = _detail_type(name)
    except ValueError:
        return None
    if detail_type not in ("Object Created", "Object Deleted"):
        # moto emits tag/ACL events as side effects of PutObject, CopyObject and multipart
        # uploads, which AWS does not; nothing in headwater consumes the other types.
        return None
    obj: dict[str, Any] = {"key": key.name}
    detail: dict[str, Any] = {"version": "0", "bucket": {"name": bucket.name}, "object": obj}
    if detail_type == "Object Created":
        obj["size"] = key.size
        obj["etag"] = key.etag.replace('"', "")
    version_id = getattr(key, "version_id", None)
    if bucket.is_versioned and version_id not in (None, "null"):
        obj["version-id"] = str(version_id)
    obj["sequencer"] = _next_sequencer()
    detail["request-id"] = _request_id()
    detail["requester"] = account_id
    detail["source-ip-address"] = "127.0.0.1"
    if detail_type == "Object Created":
        detail["reason"] = _CREATED_REASONS.get(name, "PutObject")
    elif detail_type == "Object Deleted":
        detail["reason"] = "DeleteObject"
        detail["deletion-type"] = "Permanently Deleted"
    now = wall_time()
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": "aws.s3",
        "account": account_id,
        "time": iso_time(now),
        "region": bucket.region_name,
        "resources": [bucket.arn],
        "detail": detail,
        # moto-internal; stripped before delivery (input transformers read it).
        "ingestion-time": now,
    }


def _send_s3_eventbridge_event(account_id: str, bucket: Any, event_name: str, key: Any) -> None:
    # Asynchronous in AWS: a failure here must never fail the S3 request that triggered it.
    try:
        event = s3_eventbridge_event(account_id, bucket, event_name, key)
        if event is None:
            return
        from moto.events.models import events_backends

        backend = events_backends[account_id][bucket.region_name]
        default_bus = backend.event_buses.get("default")
        if default_bus is None:
            return
        for rule in list(default_bus.rules.values()):
            rule.send_to_targets(event)
    except Exception:
        log.exception("S3 EventBridge notification for s3://%s failed", bucket.name)


def _patch_multipart_single_event() -> None:
    """AWS emits one Object Created event per multipart upload (CompleteMultipartUpload); moto's
    complete_multipart_upload stores the object with put_object, which emits a PutObject event
    too, so every large upload (boto3 upload_file above 8 MB) was processed twice."""
    from moto.s3.models import S3Backend

    original = S3Backend.put_object
    if getattr(original, "_headwater_single_event", False):
        return

    @functools.wraps(original)
    def put_object(self: Any, *args: Any, **kwargs: Any) -> Any:
        # Only complete_multipart_upload passes a multipart and wants its own event (CopyObject
        # passes the source's and already disables the PutObject one).
        if kwargs.get("multipart") is not None:
            kwargs["disable_notification"] = True
        return original(self, *args, **kwargs)

    put_object._headwater_single_event = True  # type: ignore[attr-defined]
    S3Backend.put_object = put_object  # type: ignore[method-assign]


# --- 2. S3 notification configuration keeps EventBridge -------------------------------------------


def _patch_s3_notification_eventbridge() -> None:
    import re

    from moto.s3 import responses

    original = responses.S3Response.get_bucket_notification

    def get_bucket_notification(self: Any) -> Any:
        status, headers, body = original(self)
        config = self.backend.get_bucket_notification_configuration(self.bucket_name)
        if config is None or getattr(config, "event_bridge", None) is None:
            return status, headers, body
        text = body.decode() if isinstance(body, bytes) else body
        # moto renders an otherwise empty configuration as a self-closing element.
        text = re.sub(
            r"<NotificationConfiguration([^>]*)/>",
            r"<NotificationConfiguration\1></NotificationConfiguration>",
            text,
        )
        text = text.replace(
            "</NotificationConfiguration>",
            "<EventBridgeConfiguration></EventBridgeConfiguration></NotificationConfiguration>",
        )
        headers = {k: v for k, v in dict(headers).items() if k.lower() != "content-length"}
        return status, headers, text

    responses.S3Response.get_bucket_notification = get_bucket_notification


# --- 3. Bucket policies see requests as arriving over TLS -----------------------------------------


def _bool_condition(expected: Any, actual: str) -> bool:
    values = expected if isinstance(expected, list) else [expected]
    return str(actual).lower() in {str(v).lower() for v in values}


def _patch_bucket_policy_secure_transport() -> None:
    from moto.iam import policy_conditions
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult
    from moto.s3.models import FakeBucket

    policy_conditions.CONDITION_OPERATIONS.setdefault("Bool", _bool_condition)
    context = {"aws:SecureTransport": "true"}

    def get_permission(self: Any, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        statements = json.loads(self.policy.decode())["Statement"]
        permitted = False
        for raw in statements if isinstance(statements, list) else [statements]:
            statement = IAMPolicyStatement(raw)
            # moto answers DENIED when a statement's condition does not hold, whatever its
            # Effect; on AWS such a statement simply does not apply.
            if raw.get("Condition") and not statement._check_conditions(context):
                continue
            result = statement.is_action_permitted(action, resource, None, context)
            if result == PermissionResult.DENIED:
                return result
            permitted = permitted or result == PermissionResult.PERMITTED
        return PermissionResult.PERMITTED if permitted else PermissionResult.NEUTRAL

    FakeBucket.get_permission = get_permission
