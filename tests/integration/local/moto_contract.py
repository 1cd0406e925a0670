"""Helpers shared by the moto patch contract tests (``test_moto_patches*.py``).

Resources get unique names because the session's emulator is shared by every test.
"""

from __future__ import annotations

import json
import re

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def make_queue(aws, name: str) -> tuple[str, str]:
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return url, arn


def receive_all(aws, url: str, wait: int = 1) -> list[dict]:
    sqs = aws("sqs")
    messages: list[dict] = []
    while True:
        batch = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=wait,
            AttributeNames=["All"],
        ).get("Messages", [])
        if not batch:
            return messages
        messages.extend(batch)
        wait = 0


def topic_to_raw_queue(aws, unique: str) -> tuple[str, str]:
    """SNS topic with a raw-delivery SQS subscription (the ingest fan-out). Returns topic, url."""
    sns = aws("sns")
    topic_arn = sns.create_topic(Name=f"topic-{unique}")["TopicArn"]
    url, queue_arn = make_queue(aws, f"fanout-{unique}")
    sns.subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    return topic_arn, url


def put_rule(aws, name: str, pattern: dict, targets: list[dict]) -> None:
    events = aws("events")
    events.put_rule(Name=name, EventPattern=json.dumps(pattern), State="ENABLED")
    events.put_targets(Rule=name, Targets=targets)


def put_custom_event(aws, source: str, detail: dict) -> None:
    result = aws("events").put_events(
        Entries=[{"Source": source, "DetailType": "Test Event", "Detail": json.dumps(detail)}]
    )
    assert result["FailedEntryCount"] == 0
