"""An AWS service acting with a role a customer gave it: EventBridge Scheduler's execution role.

A schedule's target is invoked by Scheduler with the schedule's ``RoleArn`` ("The Amazon Resource
Name (ARN) of the IAM role that EventBridge Scheduler will use for this target when the schedule
is invoked", Scheduler API reference, Target), and a dead-letter event is sent with the same role
("your schedule execution role needs the following permission policy": sqs:SendMessage, Scheduler
user guide, "Configuring a schedule's dead-letter queue"). The local scheduler asks here before it
acts: the role's identity policies as Terraform created them in the emulator (``policies``),
judged by the same evaluator as the functions' calls (``evaluate``), with AWS's denial wording
(``enforce``). The role's trust policy is not evaluated.
"""

from __future__ import annotations

import logging
from typing import Any

from headwater.local.iam import enforce, evaluate, policies
from headwater.local.iam.arns import ACCOUNT

log = logging.getLogger("headwater.local.iam")


class ServiceRoles:
    """Decides one (action, resource) for a role; reads the role afresh each time (schedules fire
    rarely, and a policy Terraform just changed must count at the next fire)."""

    def __init__(self, iam_client: Any, region: str, on: bool | None = None) -> None:
        self._iam = iam_client
        self.region = region
        self.on = policies.enabled() if on is None else on

    def denial(
        self,
        role_arn: str,
        session: str,
        action: str,
        resource: str,
        context: dict[str, str] | None = None,
    ) -> str | None:
        """AWS's AccessDenied message when ``role_arn`` may not do ``action`` on ``resource``,
        None when it may (or when the checks are off). ``context`` adds request condition keys
        (``kms:ViaService`` for a key a service uses on the role's behalf)."""
        if not self.on:
            return None
        principal = f"arn:aws:sts::{ACCOUNT}:assumed-role/{policies.role_name(role_arn)}/{session}"
        try:
            documents = policies.role_documents(self._iam, policies.role_name(role_arn))
        except Exception as exc:  # no such role: nothing allows anything
            log.warning("IAM check: cannot read role %s: %s", role_arn, exc)
            documents = []
        context = {
            "aws:SecureTransport": "true",
            "aws:PrincipalArn": role_arn,
            "aws:PrincipalAccount": ACCOUNT,
            "aws:PrincipalType": "AssumedRole",
            "aws:RequestedRegion": self.region,
            **(context or {}),
        }
        decision = evaluate.evaluate(documents, action, resource, context)
        if decision.allowed:
            return None
        return enforce.denial_message(principal, decision)
