"""Contract tests for ``moto_patches.sqs``: queue attributes read back as the provider expects."""

from __future__ import annotations

import json

import pytest

from tests.integration.local.moto_contract import (
    make_queue,
)

pytestmark = pytest.mark.integration


# --- what the AWS provider reads back ----------------------------------------------------------


def test_sqs_redrive_policies_read_back_as_aws_returns_them(aws, unique):
    sqs = aws("sqs")
    dlq_url, dlq_arn = make_queue(aws, f"dlq-{unique}")
    allow = json.dumps({"redrivePermission": "allowAll"})
    sqs.set_queue_attributes(QueueUrl=dlq_url, Attributes={"RedriveAllowPolicy": allow})
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3}
    url = sqs.create_queue(
        QueueName=f"work-{unique}", Attributes={"RedrivePolicy": json.dumps(redrive)}
    )["QueueUrl"]

    dlq_attrs = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["RedriveAllowPolicy"])
    assert json.loads(dlq_attrs["Attributes"]["RedriveAllowPolicy"]) == {
        "redrivePermission": "allowAll"
    }
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["RedrivePolicy"] == json.dumps(redrive, separators=(",", ":"))


def test_sqs_set_attributes_without_policy_keeps_the_policy(aws, unique):
    sqs = aws("sqs")
    url, arn = make_queue(aws, f"policy-{unique}")
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny",
        "Principal": "*", "Action": "sqs:*", "Resource": arn}]})  # fmt: skip
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": policy})
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "45"})
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert json.loads(attrs["Policy"]) == json.loads(policy)
    assert attrs["VisibilityTimeout"] == "45"
