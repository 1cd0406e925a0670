"""Contract tests for ``moto_patches.lambda_invoke``: Invoke with InvocationType Event reaches
the registered invoker (the runner) instead of moto's Docker path."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

pytestmark = pytest.mark.integration


def test_event_invoke_hands_the_payload_to_the_invoker_and_answers_202(
    aws, invocations, make_function
):
    function_arn = make_function()
    payload = {"schedule": "daily", "scheduled_time": "2026-12-02T06:00:00Z", "trigger": "api"}
    answer = aws("lambda").invoke(
        FunctionName=function_arn, InvocationType="Event", Payload=json.dumps(payload).encode()
    )
    assert answer["StatusCode"] == 202
    assert invocations.for_function(function_arn) == [payload]
    # By name too: the invoker always gets the function's ARN.
    name = function_arn.rsplit(":", 1)[-1]
    aws("lambda").invoke(FunctionName=name, InvocationType="Event", Payload=b"{}")
    assert invocations.for_function(function_arn) == [payload, {}]


def test_event_invoke_of_an_unknown_function_is_lambdas_404(aws, invocations, unique):
    with pytest.raises(ClientError) as caught:
        aws("lambda").invoke(FunctionName=f"ghost-{unique}", InvocationType="Event", Payload=b"{}")
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert invocations.calls == []
