"""Contract tests for ``moto_patches.sns``: ``lambda`` subscriptions get AWS's SNS event."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


# --- 6. SNS -> Lambda subscriptions ------------------------------------------------------------


def test_sns_lambda_subscription_hands_an_sns_event_to_the_invoker(
    aws, unique, invocations, make_function
):
    function_arn = make_function()
    sns = aws("sns")
    topic_arn = sns.create_topic(Name=f"t-{unique}")["TopicArn"]
    subscription_arn = sns.subscribe(TopicArn=topic_arn, Protocol="lambda", Endpoint=function_arn)[
        "SubscriptionArn"
    ]

    message_id = sns.publish(
        TopicArn=topic_arn,
        Message="payload",
        Subject="subj",
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "test"}},
    )["MessageId"]

    (event,) = invocations.for_function(function_arn)
    (record,) = event["Records"]
    assert record["EventSource"] == "aws:sns"
    assert record["EventSubscriptionArn"] == subscription_arn
    assert record["Sns"]["TopicArn"] == topic_arn
    assert record["Sns"]["MessageId"] == message_id
    assert record["Sns"]["Message"] == "payload"
    assert record["Sns"]["Subject"] == "subj"
    assert record["Sns"]["MessageAttributes"] == {"kind": {"Type": "String", "Value": "test"}}
    assert record["Sns"]["Type"] == "Notification"
