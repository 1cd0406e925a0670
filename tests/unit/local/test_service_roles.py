"""The Scheduler's execution role as the local IAM checks judge it (moto's in-process IAM holds
the role and its policies, as Terraform leaves them in the emulator)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from moto import mock_aws

from headwater.local.iam.service_roles import ServiceRoles

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:collector"
OTHER = "arn:aws:lambda:us-east-1:123456789012:function:other"


@pytest.fixture
def iam() -> Any:
    with mock_aws():
        client = boto3.client("iam", region_name="us-east-1")
        client.create_role(RoleName="scheduler", AssumeRolePolicyDocument="{}")
        client.put_role_policy(
            RoleName="scheduler",
            PolicyName="targets",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": FUNCTION}
                    ],
                }
            ),
        )
        yield client


ROLE = "arn:aws:iam::123456789012:role/scheduler"


def test_the_role_may_invoke_its_target_and_nothing_else(iam: Any) -> None:
    roles = ServiceRoles(iam, "us-east-1", on=True)
    assert roles.denial(ROLE, "exec1", "lambda:InvokeFunction", FUNCTION) is None
    message = roles.denial(ROLE, "exec1", "lambda:InvokeFunction", OTHER)
    assert message == (
        "User: arn:aws:sts::123456789012:assumed-role/scheduler/exec1 is not authorized to "
        f"perform: lambda:InvokeFunction on resource: {OTHER} because no identity-based policy "
        "allows the lambda:InvokeFunction action"
    )
    assert roles.denial(ROLE, "exec1", "sqs:SendMessage", "arn:aws:sqs:us-east-1:1:q")


def test_a_missing_role_allows_nothing_and_checks_off_allow_everything(iam: Any) -> None:
    missing = "arn:aws:iam::123456789012:role/gone"
    assert ServiceRoles(iam, "us-east-1", on=True).denial(
        missing, "e", "lambda:InvokeFunction", FUNCTION
    )
    assert (
        ServiceRoles(iam, "us-east-1", on=False).denial(
            missing, "e", "lambda:InvokeFunction", FUNCTION
        )
        is None
    )
