"""Contract tests for ``moto_patches.events``: EventBridge rule targets as AWS delivers them."""

from __future__ import annotations

import json

import pytest

from headwater.local.moto_patches.lambda_invoker import set_lambda_invoker
from tests.integration.local.moto_contract import (
    ISO_Z,
    make_queue,
    put_custom_event,
    put_rule,
    receive_all,
    topic_to_raw_queue,
)

pytestmark = pytest.mark.integration


# --- 1. EventBridge targets --------------------------------------------------------------------


def test_sns_target_publishes_the_event_to_raw_sqs_subscribers(aws, unique):
    topic_arn, url = topic_to_raw_queue(aws, unique)
    source = f"test.{unique}"
    put_rule(aws, f"sns-{unique}", {"source": [source]}, [{"Id": "topic", "Arn": topic_arn}])

    put_custom_event(aws, source, {"n": 1})

    bodies = [json.loads(m["Body"]) for m in receive_all(aws, url)]
    assert len(bodies) == 1
    event = bodies[0]
    assert event["source"] == source
    assert event["detail-type"] == "Test Event"
    assert event["detail"] == {"n": 1}
    assert event["account"] == "123456789012"
    assert event["region"] == "us-east-1"
    assert ISO_Z.match(event["time"]), event["time"]
    assert "ingestion-time" not in event


def test_lambda_target_hands_the_event_to_the_invoker(aws, unique, invocations, make_function):
    function_arn = make_function()
    source = f"test.{unique}"
    put_rule(aws, f"fn-{unique}", {"source": [source]}, [{"Id": "fn", "Arn": function_arn}])

    put_custom_event(aws, source, {"n": 2})

    events = invocations.for_function(function_arn)
    assert len(events) == 1
    assert events[0]["detail"] == {"n": 2}
    assert events[0]["source"] == source
    assert ISO_Z.match(events[0]["time"])


def test_lambda_target_without_invoker_is_dropped_without_error(aws, unique, make_function):
    set_lambda_invoker(None)
    function_arn = make_function()
    url, queue_arn = make_queue(aws, f"q-{unique}")
    source = f"test.{unique}"
    put_rule(
        aws,
        f"noinv-{unique}",
        {"source": [source]},
        [{"Id": "fn", "Arn": function_arn}, {"Id": "q", "Arn": queue_arn}],
    )

    put_custom_event(aws, source, {"n": 3})

    assert len(receive_all(aws, url)) == 1


def test_input_transformer_is_applied_to_sns_targets(aws, unique):
    topic_arn, url = topic_to_raw_queue(aws, unique)
    source = f"test.{unique}"
    transformer = {
        "InputPathsMap": {"n": "$.detail.n"},
        "InputTemplate": '{"number": <n>}',
    }
    put_rule(
        aws,
        f"xf-{unique}",
        {"source": [source]},
        [{"Id": "topic", "Arn": topic_arn, "InputTransformer": transformer}],
    )

    put_custom_event(aws, source, {"n": 7})

    assert [json.loads(m["Body"]) for m in receive_all(aws, url)] == [{"number": 7}]


# --- 2. one failing target does not block the others -------------------------------------------


def test_failing_targets_do_not_block_the_other_targets(aws, unique, invocations, make_function):
    broken_function = make_function(f"broken-{unique}")
    invocations.fail_for.add(broken_function)
    missing_topic = f"arn:aws:sns:us-east-1:123456789012:missing-{unique}"
    url, queue_arn = make_queue(aws, f"q-{unique}")
    source = f"test.{unique}"
    put_rule(
        aws,
        f"fail-{unique}",
        {"source": [source]},
        [
            {"Id": "missing-topic", "Arn": missing_topic},
            {"Id": "broken-fn", "Arn": broken_function},
            {"Id": "queue", "Arn": queue_arn},
        ],
    )

    put_custom_event(aws, source, {"n": 4})

    bodies = [json.loads(m["Body"]) for m in receive_all(aws, url)]
    assert [b["detail"] for b in bodies] == [{"n": 4}]


# --- 3. disabled rules -------------------------------------------------------------------------


def test_disabled_rules_do_not_deliver(aws, unique):
    url, queue_arn = make_queue(aws, f"q-{unique}")
    source = f"test.{unique}"
    rule = f"off-{unique}"
    put_rule(aws, rule, {"source": [source]}, [{"Id": "q", "Arn": queue_arn}])
    events = aws("events")

    events.disable_rule(Name=rule)
    put_custom_event(aws, source, {"phase": "disabled"})
    assert receive_all(aws, url) == []

    events.enable_rule(Name=rule)
    put_custom_event(aws, source, {"phase": "enabled"})
    assert [json.loads(m["Body"])["detail"] for m in receive_all(aws, url)] == [
        {"phase": "enabled"}
    ]
