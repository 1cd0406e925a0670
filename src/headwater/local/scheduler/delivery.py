"""One delivery of a Scheduler schedule to its Lambda target, and its dead-letter event.

Delivery, as on AWS: "EventBridge Scheduler invokes your Lambda function asynchronously" (Lambda
developer guide, "Using Lambda with Amazon EventBridge Scheduler"). So a fire *delivers* the
event: the schedule's execution role must allow lambda:InvokeFunction on the target (checked by
the local IAM checks, ``headwater.local.iam.service_roles``) and the function must exist; then
the runner queues an asynchronous invocation (``invoke_event``), and what the function does with
it (errors, Lambda's two asynchronous retries) is Lambda's business, not the Scheduler's.

A delivery that fails is what the schedule's RetryPolicy and DeadLetterConfig are about. As for
EventBridge targets ("for errors that result from missing permissions to a target, or if a
target resource that no longer exists, no retry attempts will happen", EventBridge user guide,
"Using dead-letter queues"), an AccessDenied, a missing function or a payload Lambda cannot parse
is permanent: straight to the DLQ, with no EXHAUSTED_RETRY_CONDITION. Any other failure is
retried by the service with exponential backoff (``model.backoff``, on its clock) until
MaximumRetryAttempts or MaximumEventAgeInSeconds runs out, then dead-lettered with the condition
that ran out. The dead-letter event (``headwater.schedule_dlq.attributes``) is sent with the
execution role, which must allow sqs:SendMessage on the queue; without a DLQ, or when that send
is denied, the event is dropped and logged, as AWS drops it.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from headwater import schedule_dlq
from headwater.local.iam.service_roles import ServiceRoles
from headwater.local.scheduler.model import Schedule, iso_utc

log = logging.getLogger("headwater.local.scheduler")


@dataclass(frozen=True)
class Delivery:
    """One fire of a schedule, through its attempts."""

    schedule: Schedule
    scheduled: datetime  # the fire time: SCHEDULED_TIME and <aws.scheduler.scheduled-time>
    execution_id: str
    retries_done: int = 0
    due: datetime | None = None  # when the next retry is due (None: now)

    @property
    def attempt(self) -> int:
        return self.retries_done + 1


@dataclass(frozen=True)
class Failure:
    """A delivery that did not happen: the target service's error code and message."""

    code: str
    message: str
    retryable: bool


# "If the schedule fails to invoke a target due to an issue with EventBridge Scheduler, you'll
# see the following error code instead: AWS.Scheduler.InternalServerError" ... "Unexpected error
# occurred while processing the request" (Scheduler user guide, "Configuring a schedule's
# dead-letter queue").
INTERNAL_ERROR = (
    "AWS.Scheduler.InternalServerError",
    "Unexpected error occurred while processing the request",
)


def new_execution_id() -> str:
    return secrets.token_hex(8)  # AWS's example: d32c5kddcf5bb8c3 (16 characters)


class Deliverer:
    def __init__(
        self,
        invoke_event: Callable[[str, Any], None],
        roles: ServiceRoles | None = None,
        sqs: Any = None,
    ) -> None:
        # Queues an asynchronous invocation; raises LookupError when there is no such function.
        self.invoke_event = invoke_event
        self.roles = roles  # None: no IAM checks
        self.sqs = sqs  # a boto3 "sqs" client for dead-letter events

    def deliver(self, delivery: Delivery) -> Failure | None:
        """One attempt; None when the event was handed to Lambda."""
        schedule = delivery.schedule
        payload = schedule.payload(delivery.scheduled, delivery.execution_id, delivery.attempt)
        try:
            event = json.loads(payload)
        except ValueError as exc:
            # Lambda's answer to an Invoke whose payload is not JSON.
            return Failure(
                "InvalidRequestContentException",
                f"Could not parse request body into json: {exc}",
                retryable=False,
            )
        if self.roles is not None:
            denial = self.roles.denial(
                schedule.role_arn,
                delivery.execution_id,
                "lambda:InvokeFunction",
                schedule.target_arn,
            )
            if denial is not None:
                return Failure("AccessDeniedException", denial, retryable=False)
        try:
            self.invoke_event(schedule.target_arn, event)
        except LookupError:
            return Failure(
                "ResourceNotFoundException",
                f"Function not found: {schedule.target_arn}",
                retryable=False,
            )
        except Exception as exc:
            log.warning("schedule %s/%s: runner error: %s", schedule.group, schedule.name, exc)
            return Failure(*INTERNAL_ERROR, retryable=True)
        log.info("schedule %s/%s fires %s", schedule.group, schedule.name, schedule.target_arn)
        return None

    def dead_letter(self, delivery: Delivery, failure: Failure, condition: str | None) -> None:
        """Send the dead-letter event of a delivery that will not be retried."""
        schedule = delivery.schedule
        where = f"schedule {schedule.group}/{schedule.name}"
        queue_arn = schedule.dead_letter_arn
        if not queue_arn:
            log.error("%s: event dropped (no DeadLetterConfig) after %s", where, failure.code)
            return
        if self.roles is not None:
            denial = self.roles.denial(
                schedule.role_arn, delivery.execution_id, "sqs:SendMessage", queue_arn
            )
            if denial is not None:
                log.error("%s: event dropped, cannot send it to its DLQ: %s", where, denial)
                return
        body = schedule.payload(delivery.scheduled, delivery.execution_id, delivery.attempt)
        attributes = schedule_dlq.attributes(
            error_code=failure.code,
            error_message=failure.message,
            execution_id=delivery.execution_id,
            retry_attempts=delivery.retries_done,
            scheduled_time=iso_utc(delivery.scheduled),
            schedule_arn=schedule.arn,
            # For a templated target the ARN the schedule names (the universal-target form in
            # AWS's example, arn:aws:scheduler:::aws-sdk:..., is for universal targets).
            target_arn=schedule.target_arn,
            exhausted_retry_condition=condition,
        )
        try:
            _region, account, name = queue_arn.split(":")[3:6]
            url = self.sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)
            self.sqs.send_message(
                QueueUrl=url["QueueUrl"], MessageBody=body, MessageAttributes=attributes
            )
        except Exception as exc:
            log.error("%s: event dropped, cannot send it to %s: %s", where, queue_arn, exc)
            return
        log.warning("%s: event sent to the DLQ %s (%s)", where, queue_arn, failure.code)
