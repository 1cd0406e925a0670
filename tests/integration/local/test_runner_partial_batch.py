"""Lambda's rules for partial batch responses (ReportBatchItemFailures), decided without AWS.

https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html: empty or null
responses and failure lists mean success; malformed entries or unknown ids fail the whole batch.
"""

from __future__ import annotations

import pytest

from headwater.local.event_sources.sqs import ids_to_keep
from headwater.local.lambda_service.workers import InvokeResult

pytestmark = pytest.mark.integration

IDS = ["a", "b", "c"]


def ok(payload):
    return InvokeResult(function_name="f", request_id="r", payload=payload)


@pytest.mark.parametrize(
    "payload",
    [None, "", {}, {"batchItemFailures": []}, {"batchItemFailures": None}, {"other": 1}],
)
def test_empty_responses_mean_the_whole_batch_succeeded(payload):
    assert ids_to_keep(ok(payload), IDS, report_failures=True) == set()


def test_listed_failures_are_kept():
    payload = {"batchItemFailures": [{"itemIdentifier": "b"}, {"itemIdentifier": "c"}]}
    assert ids_to_keep(ok(payload), IDS, report_failures=True) == {"b", "c"}


@pytest.mark.parametrize(
    "payload",
    [
        "not a dict",
        ["a"],
        {"batchItemFailures": "a"},
        {"batchItemFailures": [{"itemIdentifier": ""}]},
        {"batchItemFailures": [{"itemIdentifier": None}]},
        {"batchItemFailures": [{"itemIdentifer": "a"}]},  # misspelt key
        {"batchItemFailures": [{"itemIdentifier": "zzz"}]},  # not in the batch
        {"batchItemFailures": ["a"]},
    ],
)
def test_malformed_responses_fail_the_whole_batch(payload):
    assert ids_to_keep(ok(payload), IDS, report_failures=True) == set(IDS)


def test_function_error_keeps_everything_and_failures_are_ignored_without_the_setting():
    error = InvokeResult(
        function_name="f",
        request_id="r",
        payload={"errorType": "ValueError", "errorMessage": "x"},
        function_error="Unhandled",
    )
    assert ids_to_keep(error, IDS, report_failures=True) == set(IDS)
    assert ids_to_keep(error, IDS, report_failures=False) == set(IDS)
    listed = ok({"batchItemFailures": [{"itemIdentifier": "a"}]})
    assert ids_to_keep(listed, IDS, report_failures=False) == set()
