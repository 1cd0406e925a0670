"""Contract tests for ``moto_patches.lambda_event_invoke_config``: a function's asynchronous
invocation settings round-trip as the AWS provider writes and reads them."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from botocore.exceptions import ClientError

from headwater.local.moto_patches import lambda_event_invoke_config as patch
from tests.integration.local.moto_contract import make_queue

pytestmark = pytest.mark.integration


def test_moto_still_appends_every_put(emulator):
    # moto's own Put, on a stand-in function: if an upgrade makes it replace the configuration,
    # review this patch (it may no longer be needed).
    fn = SimpleNamespace(function_arn="arn:aws:lambda:us-east-1:123456789012:function:f")
    fn.last_modified = "2026-12-02T06:00:00.000+0000"
    fn.event_invoke_config = []
    backend = SimpleNamespace(get_function=lambda name: fn)
    patch.original_put(backend, "f", {"MaximumRetryAttempts": 1})
    patch.original_put(backend, "f", {"MaximumRetryAttempts": 0})
    assert [c.config for c in fn.event_invoke_config] == [
        {"MaximumRetryAttempts": 1},
        {"MaximumRetryAttempts": 0},
    ]


def test_terraform_put_then_update_round_trips(aws, unique, make_function):
    lam = aws("lambda")
    name = f"async-{unique}"
    function_arn = make_function(name)
    _, failures = make_queue(aws, f"failures-{unique}")
    _, successes = make_queue(aws, f"successes-{unique}")
    # Create, as the provider sends it (resourceFunctionEventInvokeConfigCreate).
    lam.put_function_event_invoke_config(
        FunctionName=name,
        MaximumRetryAttempts=2,
        MaximumEventAgeInSeconds=3600,
        DestinationConfig={"OnFailure": {"Destination": failures}},
    )
    # An in-place change is a second Put with every setting
    # (resourceFunctionEventInvokeConfigUpdate).
    lam.put_function_event_invoke_config(
        FunctionName=name,
        MaximumRetryAttempts=1,
        DestinationConfig={
            "OnFailure": {"Destination": failures},
            "OnSuccess": {"Destination": successes},
        },
    )
    read = lam.get_function_event_invoke_config(FunctionName=name)
    assert read["FunctionArn"] == function_arn
    assert read["MaximumRetryAttempts"] == 1
    assert "MaximumEventAgeInSeconds" not in read  # a Put removes what it leaves out
    assert read["DestinationConfig"] == {
        "OnFailure": {"Destination": failures},
        "OnSuccess": {"Destination": successes},
    }
    listed = lam.list_function_event_invoke_configs(FunctionName=name)
    assert [c["MaximumRetryAttempts"] for c in listed["FunctionEventInvokeConfigs"]] == [1]

    # Update changes only what it names.
    lam.update_function_event_invoke_config(FunctionName=name, MaximumEventAgeInSeconds=120)
    read = lam.get_function_event_invoke_config(FunctionName=name)
    assert read["MaximumRetryAttempts"] == 1
    assert read["MaximumEventAgeInSeconds"] == 120
    assert read["DestinationConfig"]["OnSuccess"] == {"Destination": successes}

    lam.delete_function_event_invoke_config(FunctionName=name)
    with pytest.raises(ClientError) as raised:
        lam.get_function_event_invoke_config(FunctionName=name)
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_update_without_a_configuration_is_not_found(aws, unique, make_function):
    name = f"async-none-{unique}"
    make_function(name)
    with pytest.raises(ClientError) as raised:
        aws("lambda").update_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=0)
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_limits_are_still_validated(aws, unique, make_function):
    name = f"async-limits-{unique}"
    make_function(name)
    with pytest.raises(ClientError) as raised:
        aws("lambda").put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=3)
    assert "less than or equal to 2" in str(raised.value)


# --- lambda_invoke: Invoke with InvocationType Event --------------------------------------------


def test_event_invocation_is_handed_to_the_invoker(aws, unique, invocations, make_function):
    function_arn = make_function(f"run-now-{unique}")
    response = aws("lambda").invoke(
        FunctionName=f"run-now-{unique}",
        InvocationType="Event",
        Payload=json.dumps({"schedule": "daily", "trigger": "api"}),
    )
    assert response["StatusCode"] == 202
    assert response["Payload"].read() == b""
    assert invocations.for_function(function_arn) == [{"schedule": "daily", "trigger": "api"}]


def test_event_invocation_of_a_missing_function_is_not_found(aws, unique, invocations):
    with pytest.raises(ClientError) as raised:
        aws("lambda").invoke(
            FunctionName=f"missing-{unique}", InvocationType="Event", Payload=b"{}"
        )
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert invocations.calls == []


def test_event_invocation_with_a_payload_that_is_not_json_is_refused(
    aws, unique, invocations, make_function
):
    make_function(f"bad-payload-{unique}")
    with pytest.raises(ClientError) as raised:
        aws("lambda").invoke(
            FunctionName=f"bad-payload-{unique}", InvocationType="Event", Payload=b"not json"
        )
    assert raised.value.response["Error"]["Code"] == "InvalidRequestContentException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert invocations.calls == []


def test_request_response_invocation_stays_with_moto(aws, unique, invocations, make_function):
    make_function(f"sync-{unique}")
    aws("lambda").invoke(FunctionName=f"sync-{unique}", Payload=b"{}")
    assert invocations.calls == []
