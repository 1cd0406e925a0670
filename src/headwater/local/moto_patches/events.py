"""EventBridge patches: rule targets delivered as AWS delivers them, no Docker for Lambda.

1. ``events.Rule.send_to_targets`` is replaced (``_deliver_to_targets``):
   - SNS targets publish the event JSON through moto's SNS backend, so SQS subscriptions (raw
     delivery or envelope) receive it; moto 5.2.5 raises NotImplementedError for SNS and Lambda.
   - Lambda targets hand the event to the registered invoker (``lambda_invoker``, the runner)
     instead of moto's Docker-based invoke; without an invoker the event is logged and dropped,
     like a Lambda target whose function cannot be reached.
   - One failing target is logged and skipped; the other targets of the rule still get the event
     (moto lets the first exception escape and abort the whole fan-out).
   - DISABLED rules deliver nothing (moto's ``put_events`` ignores the rule state).
   - Without an input transformer the target receives the whole event as AWS sends it, ``time``
     in ISO 8601 with ``Z`` and no moto-internal ``ingestion-time`` (moto rewrites the event through
     a template that drops ``account`` and breaks on string times). ``Input`` (constant JSON) and
     ``InputPath`` are honoured too.
2. ``moto.events.notifications._invoke_lambda`` (moto's own CreateBucket notifications to rules
   with Lambda targets) goes to the invoker instead of Docker.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

from headwater.local.moto_patches.lambda_invoker import invoke_lambda

log = logging.getLogger(__name__)


def apply() -> None:
    _patch_rule_delivery()
    _patch_events_notifications_lambda()


def iso_time(value: Any) -> Any:
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


def aws_event(event: dict[str, Any]) -> dict[str, Any]:
    """The event as AWS delivers it to a target (no moto-internal fields, ISO time)."""
    out = {k: v for k, v in event.items() if k != "ingestion-time"}
    if "time" in out:
        out["time"] = iso_time(out["time"])
    return out


# --- 1. rule delivery ----------------------------------------------------------------------------

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

    payload = target_payload(target, original_event) if transform_input else None
    if payload is None:
        payload = aws_event(original_event)
    text = payload if isinstance(payload, str) else json.dumps(payload)

    if arn.service == "sns":
        from moto.sns.models import sns_backends

        sns_backends[arn.account][arn.region].publish(message=text, arn=target["Arn"])
    elif arn.service == "lambda":
        invoke_lambda(target["Arn"], json.loads(text))
    elif arn.service == "sqs":
        _send_to_sqs(arn, target, text)
    else:
        _send_to_log_group(arn, text)


def target_payload(target: dict[str, Any], event: dict[str, Any]) -> Any:
    """What a target receives: Input, InputPath, InputTransformer, or (None) the whole event."""
    if target.get("Input") is not None:
        return target["Input"]
    if target.get("InputPath"):
        from jsonpath_ng.ext import parse

        matches = parse(target["InputPath"]).find(aws_event(event))
        return matches[0].value if matches else None
    transformer = target.get("InputTransformer")
    if transformer:
        from moto.events.utils import EventTemplateParser

        source = aws_event(event)
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


# --- 2. moto's own service notifications to Lambda targets --------------------------------------


def _patch_events_notifications_lambda() -> None:
    from moto.events import notifications

    def invoke(account_id: str, fn_arn: str, event: Any) -> None:
        invoke_lambda(fn_arn, copy.deepcopy(event))

    notifications._invoke_lambda = invoke
