"""SNS patch: ``lambda`` subscriptions hand an AWS-shaped SNS event to the runner.

moto builds a fixed example event for a ``lambda`` subscription and invokes the function through
Docker; ``Subscription.publish`` is wrapped so that protocol builds the event AWS sends (filter
policy, message structure, attributes) and passes it to the registered invoker instead.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from headwater.local.moto_patches.lambda_invoker import invoke_lambda


def apply() -> None:
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
    invoke_lambda(subscription.endpoint, event)
