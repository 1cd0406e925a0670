"""SQS patch: queue attributes read back as AWS returns them.

The AWS provider's waiters then settle and a second ``terraform plan`` is empty:
``RedriveAllowPolicy`` is returned (moto stores it but never returns it, and the provider waits 3
minutes for it), ``RedrivePolicy`` is compact JSON (moto adds spaces: a perpetual diff), and
``SetQueueAttributes`` without ``Policy`` keeps the queue policy (moto resets it to none).
"""

from __future__ import annotations

import json
from typing import Any


def apply() -> None:
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
