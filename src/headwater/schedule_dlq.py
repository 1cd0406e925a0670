"""EventBridge Scheduler dead-letter events: their shape, and replaying them to their targets.

Core domain (no local mode, no CLI): the local scheduler writes dead-letter events with
:func:`attributes`, and ``headwater schedules replay`` (and any capability that owns schedules,
such as collect and onboard) reads them back with :func:`replay`, against AWS or the emulator
alike, through the ports it is given.

The shape is AWS's (Scheduler user guide, "Configuring a schedule's dead-letter queue",
"Retrieve the dead-letter event"): the body is the payload the target was sent, and the message
attributes, all of DataType String, are ERROR_CODE ("the error code that EventBridge Scheduler
receives from the target's service API"), ERROR_MESSAGE, EXECUTION_ID, EXHAUSTED_RETRY_CONDITION
("present if the error from the target API is a retryable error, and not a permanent error":
MaximumRetryAttempts or MaximumEventAgeInSeconds), IS_PAYLOAD_TRUNCATED, RETRY_ATTEMPTS,
SCHEDULED_TIME (``2022-05-14T01:12:00Z``), SCHEDULE_ARN and TARGET_ARN.

The same replay takes the records Lambda sends to an asynchronous invocation's on-failure
destination (Lambda developer guide, "Capturing records of Lambda asynchronous invocations"): a
JSON body with ``requestContext.functionArn`` and ``requestPayload``, no attributes. A function
the Scheduler invokes (asynchronously) fails into such a queue, e.g. collect's collector
failures queue, and replaying one re-invokes the function with its original event.

Why replay exists: an SQS move task (StartMessageMoveTask) sends messages back to the queue they
came from, which for a Scheduler DLQ is no queue at all; the Scheduler has no API that takes a
dead-letter event back. Replaying means invoking the target named in TARGET_ARN with the body.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ERROR_CODE = "ERROR_CODE"
ERROR_MESSAGE = "ERROR_MESSAGE"
EXECUTION_ID = "EXECUTION_ID"
EXHAUSTED_RETRY_CONDITION = "EXHAUSTED_RETRY_CONDITION"
IS_PAYLOAD_TRUNCATED = "IS_PAYLOAD_TRUNCATED"
RETRY_ATTEMPTS = "RETRY_ATTEMPTS"
SCHEDULED_TIME = "SCHEDULED_TIME"
SCHEDULE_ARN = "SCHEDULE_ARN"
TARGET_ARN = "TARGET_ARN"

# ReceiveMessage returns at most 10 messages per call.
_BATCH = 10


def attributes(
    *,
    error_code: str,
    error_message: str,
    execution_id: str,
    retry_attempts: int,
    scheduled_time: str,
    schedule_arn: str,
    target_arn: str,
    exhausted_retry_condition: str | None = None,
) -> dict[str, dict[str, str]]:
    """The MessageAttributes of a dead-letter event, as SendMessage takes them.

    IS_PAYLOAD_TRUNCATED is always "false": a Target.Input is at most 8192 characters (Scheduler
    API reference, Target), far below SQS's message size limit.
    """
    values = {
        ERROR_CODE: error_code,
        ERROR_MESSAGE: error_message,
        EXECUTION_ID: execution_id,
        IS_PAYLOAD_TRUNCATED: "false",
        RETRY_ATTEMPTS: str(retry_attempts),
        SCHEDULED_TIME: scheduled_time,
        SCHEDULE_ARN: schedule_arn,
        TARGET_ARN: target_arn,
    }
    if exhausted_retry_condition:
        values[EXHAUSTED_RETRY_CONDITION] = exhausted_retry_condition
    return {name: {"DataType": "String", "StringValue": value} for name, value in values.items()}


@dataclass(frozen=True)
class DeadLetter:
    """One dead-letter event as ReceiveMessage returned it."""

    message_id: str
    receipt_handle: str
    body: str
    attributes: dict[str, str]

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> DeadLetter:
        values = {
            name: str(value.get("StringValue", ""))
            for name, value in (message.get("MessageAttributes") or {}).items()
        }
        body = message.get("Body", "")
        if TARGET_ARN not in values and (record := _invocation_record(body)) is not None:
            function_arn, payload, condition = record
            values = {**values, TARGET_ARN: function_arn, ERROR_CODE: condition}
            body = json.dumps(payload)
        return cls(message["MessageId"], message["ReceiptHandle"], body, values)

    @property
    def target_arn(self) -> str:
        return self.attributes.get(TARGET_ARN, "")

    @property
    def lambda_target(self) -> bool:
        return self.target_arn.split(":")[2:3] == ["lambda"]


def _invocation_record(body: str) -> tuple[str, Any, str] | None:
    """(function ARN, original event, condition) of a Lambda on-failure destination record, or
    None. The ARN's ``:$LATEST`` qualifier is dropped: the replay invokes the function as is."""
    try:
        record = json.loads(body)
    except ValueError:
        return None
    context = record.get("requestContext") if isinstance(record, dict) else None
    if not isinstance(context, dict) or "requestPayload" not in record:
        return None
    function_arn = context.get("functionArn")
    if not isinstance(function_arn, str) or ":function:" not in function_arn:
        return None
    function_arn = function_arn.removesuffix(":$LATEST")
    return function_arn, record["requestPayload"], str(context.get("condition") or "")


@dataclass(frozen=True)
class Outcome:
    """What re-invoking one target gave: ``ok`` decides whether its message is deleted."""

    ok: bool
    detail: str = ""


# invoke(function_arn, event) -> Outcome; raises nothing for a function error (Outcome(False)).
Invoke = Callable[[str, Any], Outcome]


def lambda_invoke(lambda_client: Any) -> Invoke:
    """The invoke port over Lambda's Invoke API (RequestResponse): for AWS, and for any caller
    with a boto3 Lambda client (a capability's own replay handler). Give the client a read
    timeout above the function's timeout (15 minutes at most)."""

    def invoke(function_arn: str, event: Any) -> Outcome:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = lambda_client.invoke(
                FunctionName=function_arn,
                InvocationType="RequestResponse",
                Payload=json.dumps(event),
            )
        except (BotoCoreError, ClientError) as exc:
            return Outcome(False, str(exc))
        error = answer.get("FunctionError")
        payload = answer["Payload"].read().decode(errors="replace")
        return Outcome(error is None, detail(payload, error))

    return invoke


def detail(payload: Any, function_error: str | None, limit: int = 300) -> str:
    """A function's answer in one printable line (cut at ``limit`` characters)."""
    text = payload if isinstance(payload, str) else json.dumps(payload, default=str)
    text = text if len(text) <= limit else text[:limit] + "..."
    return f"function error ({function_error}): {text}" if function_error else text


@dataclass
class Report:
    replayed: int = 0
    failed: int = 0
    skipped: int = 0  # not replayable here (not a Lambda target, body not JSON): left in place
    lines: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.skipped == 0


def replay(
    sqs: Any,
    queue_url: str,
    invoke: Invoke,
    *,
    max_messages: int | None = None,
    dry_run: bool = False,
    visibility_timeout: int = 900,
) -> Report:
    """Re-invoke the target of each dead-letter event in ``queue_url`` with its body.

    A message is deleted only after its target succeeded. The others (failed, not replayable
    here, or all of them in a ``dry_run``, which invokes nothing) stay in the queue: hidden for
    ``visibility_timeout`` seconds while the run goes on, so none is received twice (an
    invocation may take a Lambda timeout, 15 minutes at most), then made visible again at the
    end of the run.
    """
    report = Report()
    seen: set[str] = set()
    kept: list[DeadLetter] = []
    try:
        while max_messages is None or len(seen) < max_messages:
            wanted = _BATCH if max_messages is None else min(_BATCH, max_messages - len(seen))
            messages = sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=wanted,
                MessageAttributeNames=["All"],
                VisibilityTimeout=visibility_timeout,
                WaitTimeSeconds=0,
            ).get("Messages", [])
            fresh = [m for m in messages if m["MessageId"] not in seen]
            if not fresh:
                break
            for message in fresh:
                seen.add(message["MessageId"])
                letter = DeadLetter.from_message(message)
                if not _one(sqs, queue_url, letter, invoke, dry_run, report):
                    kept.append(letter)
    finally:
        for letter in kept:
            sqs.change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=letter.receipt_handle, VisibilityTimeout=0
            )
    return report


def _one(
    sqs: Any, queue_url: str, letter: DeadLetter, invoke: Invoke, dry_run: bool, report: Report
) -> bool:
    """Replay one dead-letter event; whether its message was deleted."""
    what = f"{letter.message_id} -> {letter.target_arn or '(no TARGET_ARN)'}"
    if not letter.lambda_target:
        report.skipped += 1
        report.lines.append(f"skipped {what}: only Lambda targets are replayed")
        return False
    try:
        event = json.loads(letter.body)
    except ValueError as exc:
        report.skipped += 1
        report.lines.append(f"skipped {what}: body is not JSON ({exc})")
        return False
    if dry_run:
        report.replayed += 1
        why = letter.attributes.get(ERROR_CODE, "?")
        report.lines.append(f"would replay {what} (it failed with {why})")
        return False
    outcome = invoke(letter.target_arn, event)
    if not outcome.ok:
        report.failed += 1
        report.lines.append(f"failed {what}: {outcome.detail}")
        return False
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=letter.receipt_handle)
    report.replayed += 1
    report.lines.append(f"replayed {what}" + (f": {outcome.detail}" if outcome.detail else ""))
    return True
