"""Pinned compatibility patches that make moto behave like AWS for the embedded local mode.

Every patch here was written against moto ``PINNED_MOTO_VERSION`` after reading that version's
source; each one is covered by a contract test in ``tests/integration/test_moto_patches.py`` that
drives a real moto server through boto3, so a moto upgrade that changes a seam fails loudly instead
of silently changing what the local platform does.

Patches (all installed by :func:`apply`, which is idempotent):

1. ``events.Rule.send_to_targets`` is replaced (``_deliver_to_targets``):
   - SNS targets publish the event JSON through moto's SNS backend, so SQS subscriptions (raw
     delivery or envelope) receive it; moto 5.2.5 raises NotImplementedError for SNS and Lambda.
   - Lambda targets hand the event to the invoker registered with :func:`set_lambda_invoker`
     (the runner) instead of moto's Docker-based invoke; without an invoker the event is logged
     and dropped, like a Lambda target whose function cannot be reached.
   - One failing target is logged and skipped; the other targets of the rule still get the event
     (moto lets the first exception escape and abort the whole fan-out).
   - DISABLED rules deliver nothing (moto's ``put_events`` ignores the rule state).
   - Without an input transformer the target receives the whole event as AWS sends it, ``time``
     in ISO 8601 with ``Z`` and no moto-internal ``ingestion-time`` (moto rewrites the event through
     a template that drops ``account`` and breaks on string times). ``Input`` (constant JSON) and
     ``InputPath`` are honoured too.
2. ``moto.s3.notifications._send_event_bridge_message`` is replaced: S3 -> EventBridge events in
   AWS's exact shape (``etag`` not ``eTag``, ``reason`` PutObject / POST Object / CopyObject /
   CompleteMultipartUpload / DeleteObject, ``version-id`` only for versioned buckets, a unique id,
   increasing sequencer, ISO time) delivered to the default bus only (moto sends it to every bus),
   through the patched rule delivery so input transformers and rule state apply. Only
   "Object Created" and "Object Deleted" are emitted: moto fires tag events on every PutObject.
3. Event source mappings are never run by moto: the ``lambda_event_source_mappings`` attribute of
   SQS queues, DynamoDB tables and Kinesis streams is replaced by a descriptor that always reads
   empty. Otherwise moto consumes SQS messages on SendMessage and pushes stream records to its
   Docker-based Lambda; the runner polls these sources itself, as the Lambda service does.
   The mappings themselves (configuration returned by Create/GetEventSourceMapping) are untouched.
4. SNS subscriptions with protocol ``lambda`` hand an AWS-shaped SNS event to the invoker
   (moto builds a fixed example event and invokes through Docker).
5. ``moto.events.notifications._invoke_lambda`` (moto's own CreateBucket notifications to rules
   with Lambda targets) goes to the invoker instead of Docker.
6. SQS queue attributes read back as AWS returns them, so the AWS provider's waiters settle and a
   second ``terraform plan`` is empty: ``RedriveAllowPolicy`` is returned (moto stores it but never
   returns it, and the provider waits 3 minutes for it), ``RedrivePolicy`` is compact JSON (moto
   adds spaces: a perpetual diff), and ``SetQueueAttributes`` without ``Policy`` keeps the queue
   policy (moto resets it to none).
7. ``GetBucketNotificationConfiguration`` returns ``<EventBridgeConfiguration/>`` when EventBridge
   delivery is on (moto stores it but omits it: a perpetual ``eventbridge = false -> true`` diff).
8. Bucket policies are evaluated with ``aws:SecureTransport`` = true, and moto's condition
   evaluator learns the ``Bool`` operator. moto evaluates bucket policies without request context
   and ignores operators other than StringEquals, and a statement whose condition fails
   counts as a Deny, so a TLS-only policy (Deny when
   SecureTransport is false) denies every request. The emulator listens on loopback in plain
   HTTP, standing in for AWS's HTTPS endpoint; the policy itself is still deployed and checked.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import json
import logging
import secrets
import string
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

PINNED_MOTO_VERSION = "5.2.5"

LambdaInvoker = Callable[[str, dict[str, Any]], None]

_invoker: LambdaInvoker | None = None
_apply_lock = threading.Lock()
_applied = False


def set_lambda_invoker(fn: LambdaInvoker | None) -> None:
    """Register ``fn(function_arn, event)`` to receive asynchronous Lambda invocations.

    Used by EventBridge Lambda targets and SNS -> Lambda subscriptions. ``None`` unregisters it.
    """
    global _invoker
    _invoker = fn


def apply() -> None:
    """Install every patch once; later calls do nothing."""
    global _applied
    with _apply_lock:
        if _applied:
            return
        import moto

        if moto.__version__ != PINNED_MOTO_VERSION:
            # Not fatal: the contract tests decide whether the seams still hold.
            log.warning(
                "moto %s is installed but headwater's patches were written for %s; "
                "run tests/integration/test_moto_patches.py",
                moto.__version__,
                PINNED_MOTO_VERSION,
            )
        _patch_rule_delivery()
        _patch_s3_eventbridge_events()
        _patch_event_source_mappings()
        _patch_sns_lambda_subscriptions()
        _patch_events_notifications_lambda()
        _patch_sqs_queue_attributes()
        _patch_s3_notification_eventbridge()
        _patch_bucket_policy_secure_transport()
        _applied = True


# --- shared helpers ---------------------------------------------------------------------------


def _invoke_lambda(function_arn: str, event: dict[str, Any]) -> None:
    invoker = _invoker
    if invoker is None:
        log.warning("no Lambda invoker registered; dropped event for %s", function_arn)
        return
    invoker(function_arn, event)


def _iso_time(value: Any) -> Any:
    """EventBridge's ``time``: ISO 8601, whole seconds, ``Z``. moto keeps epoch floats."""
    if isinstance(value, dt.datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    elif isinstance(value, int | float):
        moment = dt.datetime.fromtimestamp(value, dt.UTC)
    elif isinstance(value, str):
        try:
            moment = dt.datetime.fromtimestamp(float(value), dt.UTC)
        except ValueError:
            return value  # already a formatted time
    else:
        return value
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _aws_event(event: dict[str, Any]) -> dict[str, Any]:
    """The event as AWS delivers it to a target (no moto-internal fields, ISO time)."""
    out = {k: v for k, v in event.items() if k != "ingestion-time"}
    if "time" in out:
        out["time"] = _iso_time(out["time"])
    return out


# --- 1. EventBridge rule delivery -------------------------------------------------------------

_original_send_to_targets: Callable[..., None] | None = None


def _patch_rule_delivery() -> None:
    global _original_send_to_targets
    from moto.events.models import Rule

    _original_send_to_targets = Rule.send_to_targets
    Rule.send_to_targets = _deliver_to_targets


def _deliver_to_targets(rule: Any, original_event: dict[str, Any], transform_input: bool = True):
    if rule.state != "ENABLED":
        return
    if not rule.event_pattern.matches_event(original_event):
        return
    for target in list(rule.targets):
        try:
            _deliver_to_target(rule, target, original_event, transform_input)
        except Exception:
            # AWS delivers to each target independently; one broken target must not starve the
            # others (moto lets the exception abort the loop).
            log.exception("rule %s: delivery to target %s failed", rule.name, target.get("Arn"))


def _deliver_to_target(
    rule: Any, target: dict[str, Any], original_event: dict[str, Any], transform_input: bool
) -> None:
    from moto.utilities.arns import parse_arn

    arn = parse_arn(target["Arn"])
    handled = {"sns", "lambda", "sqs", "logs"}
    if arn.service not in handled:
        # Archives, event buses, API destinations: moto's own code for that one target.
        single = copy.copy(rule)
        single.targets = [target]
        _original_send_to_targets(single, original_event, transform_input)  # type: ignore[misc]
        return

    payload = _target_payload(target, original_event) if transform_input else None
    if payload is None:
        payload = _aws_event(original_event)
    text = payload if isinstance(payload, str) else json.dumps(payload)

    if arn.service == "sns":
        from moto.sns.models import sns_backends

        sns_backends[arn.account][arn.region].publish(message=text, arn=target["Arn"])
    elif arn.service == "lambda":
        _invoke_lambda(target["Arn"], json.loads(text))
    elif arn.service == "sqs":
        _send_to_sqs(arn, target, text)
    else:
        _send_to_log_group(arn, text)


def _target_payload(target: dict[str, Any], event: dict[str, Any]) -> Any:
    """What a target receives: Input, InputPath, InputTransformer, or (None) the whole event."""
    if target.get("Input") is not None:
        return target["Input"]
    if target.get("InputPath"):
        from jsonpath_ng.ext import parse

        matches = parse(target["InputPath"]).find(_aws_event(event))
        return matches[0].value if matches else None
    transformer = target.get("InputTransformer")
    if transformer:
        from moto.events.utils import EventTemplateParser

        source = _aws_event(event)
        source["ingestion-time"] = event.get("ingestion-time", time.time())
        return EventTemplateParser.parse(
            input_template=transformer.get("InputTemplate"),
            input_paths_map=transformer.get("InputPathsMap", {}),
            event=source,
        )
    return None


def _send_to_sqs(arn: Any, target: dict[str, Any], body: str) -> None:
    from moto.sqs.models import sqs_backends

    backend = sqs_backends[arn.account][arn.region]
    group_id = target.get("SqsParameters", {}).get("MessageGroupId")
    if group_id:
        attrs = backend.get_queue_attributes(
            queue_name=arn.resource_id, attribute_names=["ContentBasedDeduplication"]
        )
        if attrs.get("ContentBasedDeduplication") != "true":
            log.warning("FIFO queue %s needs content-based deduplication", arn.resource_id)
            return
    backend.send_message(queue_name=arn.resource_id, message_body=body, group_id=group_id)


def _send_to_log_group(arn: Any, text: str) -> None:
    from moto.logs import logs_backends

    backend = logs_backends[arn.account][arn.region]
    stream = str(uuid.uuid4())
    backend.create_log_stream(arn.resource_id, stream)
    backend.put_log_events(
        arn.resource_id, stream, [{"timestamp": int(time.time() * 1000), "message": text}]
    )


# --- 2. S3 -> EventBridge events in AWS's shape ----------------------------------------------

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
        return f"{time.time_ns():016X}{next(_sequence) % 0x10000:04X}"


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
    now = time.time()
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": "aws.s3",
        "account": account_id,
        "time": _iso_time(now),
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


# --- 3. moto must not run event source mappings -------------------------------------------------


class _AlwaysEmptyMappings:
    """Data descriptor for ``lambda_event_source_mappings``: reads empty, writes are dropped.

    moto iterates this attribute on SendMessage / stream writes to push records to Lambda itself.
    """

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        return {} if obj is not None else self

    def __set__(self, obj: Any, value: Any) -> None:
        return None


def _patch_event_source_mappings() -> None:
    from moto.dynamodb.models.table import Table
    from moto.kinesis.models import Stream
    from moto.sqs.models import Queue

    for cls in (Queue, Table, Stream):
        cls.lambda_event_source_mappings = _AlwaysEmptyMappings()


# --- 4. SNS -> Lambda subscriptions -------------------------------------------------------------


def _patch_sns_lambda_subscriptions() -> None:
    from moto.sns.models import Subscription

    original = Subscription.publish

    def publish(self: Any, message: str, message_id: str, *args: Any, **kwargs: Any) -> None:
        if self.protocol != "lambda":
            return original(self, message, message_id, *args, **kwargs)
        return _publish_to_lambda(self, message, message_id, **kwargs)

    Subscription.publish = publish


def _publish_to_lambda(
    subscription: Any,
    message: str,
    message_id: str,
    subject: str | None = None,
    message_attributes: dict[str, Any] | None = None,
    message_structure: str | None = None,
    **_: Any,
) -> None:
    matcher = subscription._filter_policy_matcher
    if matcher is not None and not matcher.matches(message_attributes, message):
        return
    if message_structure == "json":
        message = subscription._parse_message_structure(message, "lambda")
    attributes = {
        name: {"Type": value["Type"], "Value": value["Value"]}
        for name, value in (message_attributes or {}).items()
    }
    timestamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    event = {
        "Records": [
            {
                "EventVersion": "1.0",
                "EventSubscriptionArn": subscription.arn,
                "EventSource": "aws:sns",
                "Sns": {
                    "SignatureVersion": "1",
                    "Timestamp": timestamp,
                    "Signature": "EXAMPLE",
                    "SigningCertUrl": "EXAMPLE",
                    "MessageId": message_id,
                    "Message": message,
                    "MessageAttributes": attributes,
                    "Type": "Notification",
                    "UnsubscribeUrl": "EXAMPLE",
                    "TopicArn": subscription.topic.arn,
                    "Subject": subject,
                },
            }
        ]
    }
    _invoke_lambda(subscription.endpoint, event)


# --- 5. moto's own service notifications to Lambda targets --------------------------------------


def _patch_events_notifications_lambda() -> None:
    from moto.events import notifications

    def invoke(account_id: str, fn_arn: str, event: Any) -> None:
        _invoke_lambda(fn_arn, copy.deepcopy(event))

    notifications._invoke_lambda = invoke


# --- 6. SQS queue attributes as AWS returns them ------------------------------------------------


def _patch_sqs_queue_attributes() -> None:
    from moto.sqs import models

    queue = models.Queue
    queue.redrive_allow_policy = None  # class default; _set_attributes stores the attribute
    if "RedriveAllowPolicy" not in queue.BASE_ATTRIBUTES:
        queue.BASE_ATTRIBUTES.append("RedriveAllowPolicy")

    original_attributes = queue.attributes.fget

    def attributes(self: Any) -> dict[str, Any]:
        result = original_attributes(self)
        if self.redrive_policy:
            result["RedrivePolicy"] = json.dumps(self.redrive_policy, separators=(",", ":"))
        return result

    queue.attributes = property(attributes)

    original_set = queue._set_attributes

    def set_attributes(self: Any, attributes: dict[str, Any], now: float | None = None) -> None:
        kept = getattr(self, "policy", None)
        original_set(self, attributes, now)
        if "Policy" not in attributes:
            self.policy = kept

    queue._set_attributes = set_attributes


# --- 7. S3 notification configuration keeps EventBridge -----------------------------------------


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


# --- 8. Bucket policies see requests as arriving over TLS ---------------------------------------


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
