"""Lambda's asynchronous invocations: the function's event invoke configuration, the invocation
record, and its delivery to the on-success or on-failure destination.

On AWS an asynchronous (Event) invocation waits in Lambda's queue; "If the function returns an
error, by default Lambda attempts to run it two more times" (Lambda developer guide, "How Lambda
handles errors and retries with asynchronous invocation"), and PutFunctionEventInvokeConfig sets
``MaximumRetryAttempts`` (0-2) and ``MaximumEventAgeInSeconds`` (60-21600, the default six hours).
An event that fails every attempt (condition ``RetriesExhausted``) or grows too old before its
next attempt (``EventAgeExceeded``) goes to the ``OnFailure`` destination, a success to
``OnSuccess``, as the invocation record of "Capturing records of Lambda asynchronous invocations"
(its example: ``version``, ``timestamp``, ``requestContext`` {requestId, functionArn with
``:$LATEST``, condition, approximateInvokeCount}, ``requestPayload``, ``responseContext``
{statusCode, executedVersion, functionError}, ``responsePayload``).

Lambda sends the record with the function's execution role, so the role must allow the send
(sqs:SendMessage, sns:Publish, lambda:InvokeFunction, events:PutEvents on the destination, plus
the KMS permissions of an encrypted queue or topic). The local IAM checks judge that like the
Scheduler's deliveries (``iam.service_roles``); a denied or failed send is logged and the record
dropped, as AWS drops it (its only trace there is the DestinationDeliveryFailures metric).
S3 destinations are not served: logged and dropped.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from headwater.local.iam import actions
from headwater.local.iam.service_roles import ServiceRoles

log = logging.getLogger("headwater.local.lambda_service.async")

DEFAULT_MAXIMUM_RETRY_ATTEMPTS = 2
DEFAULT_MAXIMUM_EVENT_AGE_SECONDS = 21600

RETRIES_EXHAUSTED = "RetriesExhausted"
EVENT_AGE_EXCEEDED = "EventAgeExceeded"
SUCCESS = "Success"

# The EventBridge event Lambda puts on a destination bus (detail = the invocation record).
EVENTBRIDGE_SOURCE = "lambda"
EVENTBRIDGE_DETAIL_TYPES = {
    True: "Lambda Function Invocation Result - Success",
    False: "Lambda Function Invocation Result - Failure",
}


@dataclass(frozen=True)
class EventInvokeConfig:
    """A function's asynchronous invocation settings (AWS's defaults when it has none)."""

    maximum_retry_attempts: int = DEFAULT_MAXIMUM_RETRY_ATTEMPTS
    maximum_event_age_seconds: int = DEFAULT_MAXIMUM_EVENT_AGE_SECONDS
    on_success: str | None = None
    on_failure: str | None = None

    @classmethod
    def from_api(cls, conf: dict[str, Any]) -> EventInvokeConfig:
        """From GetFunctionEventInvokeConfig's response; a setting left out keeps its default."""
        destinations = conf.get("DestinationConfig") or {}
        retries = conf.get("MaximumRetryAttempts")
        age = conf.get("MaximumEventAgeInSeconds")
        return cls(
            maximum_retry_attempts=DEFAULT_MAXIMUM_RETRY_ATTEMPTS if retries is None else retries,
            maximum_event_age_seconds=DEFAULT_MAXIMUM_EVENT_AGE_SECONDS if age is None else age,
            on_success=(destinations.get("OnSuccess") or {}).get("Destination") or None,
            on_failure=(destinations.get("OnFailure") or {}).get("Destination") or None,
        )


@dataclass(frozen=True)
class AsyncInvocation:
    """One queued asynchronous invocation, through its attempts.

    ``request_id`` is the invocation's, shared by its retries (the record's requestId);
    ``enqueued_at`` (the runner's clock) is where its age counts from.
    """

    function: str
    event: Any
    request_id: str
    enqueued_at: datetime
    attempts: int = 0  # made so far
    last_payload: Any = None  # the last attempt's response (the record's responsePayload)
    last_error: str | None = None  # and its function error ("Unhandled"), None on success


def iso_millis(moment: datetime) -> str:
    """``2019-11-14T18:16:05.568Z``, the record's timestamp format."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def invocation_record(
    *,
    function_arn: str,
    invocation: AsyncInvocation,
    condition: str,
    payload: Any,
    function_error: str | None,
    now: datetime,
) -> dict[str, Any]:
    """The JSON document Lambda sends to a destination."""
    response_context: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
    if function_error:
        response_context["functionError"] = function_error
    return {
        "version": "1.0",
        "timestamp": iso_millis(now),
        "requestContext": {
            "requestId": invocation.request_id,
            "functionArn": f"{function_arn}:$LATEST",
            "condition": condition,
            "approximateInvokeCount": invocation.attempts,
        },
        "requestPayload": invocation.event,
        "responseContext": response_context,
        "responsePayload": payload,
    }


class Destinations:
    """Sends invocation records with the function's role, checked by the local IAM checks."""

    def __init__(
        self,
        client: Callable[[str], Any],
        roles: ServiceRoles | None,
        invoke_event: Callable[[str, Any], None],
        region: str,
    ) -> None:
        self._new_client = client  # service name -> a new boto3 client for the emulator
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.roles = roles  # None: no IAM checks
        self.invoke_event = invoke_event  # a Lambda destination is invoked asynchronously
        self.region = region

    def send(
        self, destination: str, record: dict[str, Any], role_arn: str, session: str
    ) -> str | None:
        """Deliver ``record``: None once sent, else why it was dropped (also logged)."""
        function_arn = record["requestContext"]["functionArn"]
        where = f"async invocation {record['requestContext']['requestId']} of {function_arn}"
        service = destination.split(":")[2] if destination.count(":") >= 5 else ""
        sender = {
            "sqs": self._sqs,
            "sns": self._sns,
            "lambda": self._lambda,
            "events": self._events,
        }.get(service)
        if sender is None:
            reason = f"destination {destination} is not served"
            log.error("%s: record dropped, %s", where, reason)
            return reason
        try:
            denial = sender(destination, record, role_arn, session)
        except Exception as exc:
            denial = str(exc)
        if denial is not None:
            log.error("%s: record dropped, cannot send it to %s: %s", where, destination, denial)
            return denial
        log.warning(
            "%s: %s record sent to %s", where, record["requestContext"]["condition"], destination
        )
        return None

    def _client(self, service: str) -> Any:
        with self._lock:  # clients are thread-safe once made; making them is not
            if service not in self._clients:
                self._clients[service] = self._new_client(service)
            return self._clients[service]

    # Each sender checks the role first: it returns the denial, or None once it has sent.

    def _denial(
        self,
        role_arn: str,
        session: str,
        action: str,
        resource: str,
        context: dict[str, str] | None = None,
    ) -> str | None:
        if self.roles is None:
            return None
        return self.roles.denial(role_arn, session, action, resource, context)

    def _send_denial(
        self,
        service: str,
        operation: str,
        params: dict[str, Any],
        key_id: str | None,
        role_arn: str,
        session: str,
    ) -> str | None:
        """What the send needs, as a function's own call of it needs (``iam.actions``): the
        service's action, and for a queue or topic under a customer managed key the KMS actions
        its service takes with the sender's permissions."""
        if not (self.roles and self.roles.on):
            return None
        key_arn = actions.customer_key_arn(
            key_id, lambda k: self._client("kms").describe_key(KeyId=k)["KeyMetadata"]["Arn"]
        )
        for need in actions.requirements(
            service, operation, params, self.region, key_of=lambda _prefix, _params: key_arn
        ):
            denial = self._denial(role_arn, session, need.action, need.resource, need.context)
            if denial is not None:
                return denial
        return None

    def _sqs(self, arn: str, record: dict, role_arn: str, session: str) -> str | None:
        sqs = self._client("sqs")
        _region, account, name = arn.split(":")[3:6]
        url = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
        key = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["KmsMasterKeyId"])
        key_id = key.get("Attributes", {}).get("KmsMasterKeyId")
        denial = self._send_denial(
            "sqs", "SendMessage", {"QueueUrl": url}, key_id, role_arn, session
        )
        if denial is None:
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps(record))
        return denial

    def _sns(self, arn: str, record: dict, role_arn: str, session: str) -> str | None:
        sns = self._client("sns")
        key_id = sns.get_topic_attributes(TopicArn=arn)["Attributes"].get("KmsMasterKeyId")
        denial = self._send_denial("sns", "Publish", {"TopicArn": arn}, key_id, role_arn, session)
        if denial is None:
            sns.publish(TopicArn=arn, Message=json.dumps(record))
        return denial

    def _lambda(self, arn: str, record: dict, role_arn: str, session: str) -> str | None:
        denial = self._denial(role_arn, session, "lambda:InvokeFunction", arn)
        if denial is None:
            self.invoke_event(arn, record)
        return denial

    def _events(self, arn: str, record: dict, role_arn: str, session: str) -> str | None:
        denial = self._denial(role_arn, session, "events:PutEvents", arn)
        if denial is not None:
            return denial
        success = record["requestContext"]["condition"] == SUCCESS
        result = self._client("events").put_events(
            Entries=[
                {
                    "EventBusName": arn,
                    "Source": EVENTBRIDGE_SOURCE,
                    "DetailType": EVENTBRIDGE_DETAIL_TYPES[success],
                    "Resources": [record["requestContext"]["functionArn"], arn],
                    "Detail": json.dumps(record),
                }
            ]
        )
        if result.get("FailedEntryCount"):
            raise RuntimeError(f"PutEvents failed: {result['Entries']}")
        return None
