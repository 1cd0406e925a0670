"""A deferred file never reaches the DLQ for that reason alone, through the real runner.

The processor runs in a runner worker with a short timeout, behind an SQS mapping whose queue
moves a message to the DLQ after ONE receive. The second file of a batch is planned (from the
size its event claims) to need more than the time left, so it is deferred: re-sent as a new
message, it is curated on its next receive. Without the role's ``sqs:SendMessage`` grant the
local IAM checks refuse the re-send, as AWS would, and the same file ends in the DLQ: the grant
is what keeps it out.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from headwater.local.lambda_service.runner import Runner
from tests.integration.local.test_runner import (  # noqa: F401 - fixtures
    REGION,
    endpoint,
    make_queue,
    moto_endpoint,
    queue_depth,
)
from tests.support import paths
from tests.support.emulator import code_zip, lambda_role

pytestmark = pytest.mark.integration

RAW, CURATED, QUARANTINE = "defer-raw", "defer-curated", "defer-quarantine"
HEADER = "order_id,order_date,customer_id,sku,quantity,unit_price,currency,coupon\n"
# Planned at 3 s (60 MB over 20 MB/s): with the 10 s reserve, more than the ~12 s timeout leaves
# after the first file, less than the whole invocation (so not too_large_for_timeout).
CLAIMED_SIZE = 60_000_000


def _csv(first: int) -> bytes:
    rows = [
        f"{i},2026-11-23,C{i:04d},SKU-{i},{i},{i * 1.5},EUR,\n" for i in range(first, first + 3)
    ]
    return (HEADER + "".join(rows)).encode()


def _statements(queue_arn: str, resend: bool) -> list[dict[str, Any]]:
    statements = [
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:DeleteObject", "s3:ListBucket"],
            "Resource": [f"arn:aws:s3:::{RAW}", f"arn:aws:s3:::{RAW}/*"],
        },
        {
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:AbortMultipartUpload", "s3:GetObject"],
            "Resource": [f"arn:aws:s3:::{CURATED}/*", f"arn:aws:s3:::{QUARANTINE}/*"],
        },
        {
            "Effect": "Allow",
            "Action": [
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "sqs:ChangeMessageVisibility",
            ],
            "Resource": queue_arn,
        },
    ]
    if resend:  # what modules/ingest grants (ResendDeferredRecords)
        statements.append({"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": queue_arn})
    return statements


def _event(key: str, put: dict[str, Any], size: int) -> str:
    event = json.loads((paths.FIXTURES / "ingest" / "object_created.json").read_text())
    event["detail"]["bucket"]["name"] = RAW
    event["detail"]["object"].update(
        key=key, size=size, etag=put["ETag"].strip('"'), **{"version-id": put["VersionId"]}
    )
    return json.dumps(event)


def _wait(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.mark.parametrize("granted", [True, False], ids=["with-grant", "without-grant"])
def test_a_deferred_file_is_resent_instead_of_spending_its_only_receive(
    endpoint: str,  # noqa: F811 - the fixture imported above
    granted: bool,
) -> None:
    session = boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION
    )
    s3, sqs = (session.client(name, endpoint_url=endpoint) for name in ("s3", "sqs"))
    for bucket in (RAW, CURATED, QUARANTINE):
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=RAW, VersioningConfiguration={"Status": "Enabled"})
    dlq_url, dlq_arn = make_queue(sqs, "defer-ingest-dlq")
    url, arn = make_queue(
        sqs,
        "defer-ingest",
        VisibilityTimeout="15",  # above the timeout: a cold worker must not lose its batch
        RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "1"}),
    )
    role = lambda_role(session.client("iam", endpoint_url=endpoint), "defer-processor")
    document = {"Version": "2012-10-17", "Statement": _statements(arn, granted)}
    session.client("iam", endpoint_url=endpoint).put_role_policy(
        RoleName="defer-processor", PolicyName="function", PolicyDocument=json.dumps(document)
    )
    lam = session.client("lambda", endpoint_url=endpoint)
    lam.create_function(
        FunctionName="defer-processor",
        Runtime="python3.12",
        Role=role,
        Handler="headwater.handlers.ingest_processor.handler",
        Timeout=12,
        MemorySize=1024,
        Environment={
            "Variables": {
                "CURATED_BUCKET": CURATED,
                "QUARANTINE_BUCKET": QUARANTINE,
                "INGEST_PREFIX": "ingest/",
                "POWERTOOLS_SERVICE_NAME": "ingest",
                "POWERTOOLS_METRICS_NAMESPACE": "headwater-test",
            }
        },
        Code={"ZipFile": code_zip()},
    )
    bodies = []
    for i, size in ((0, None), (1, CLAIMED_SIZE)):
        key = f"ingest/sales/defer/{i}.csv"
        data = _csv(first=i * 10)
        put = s3.put_object(Bucket=RAW, Key=key, Body=data)
        bodies.append(_event(key, put, size or len(data)))
    # Both in one receive, hence one batch: the second waits behind the first.
    sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": b} for i, b in enumerate(bodies)]
    )
    lam.create_event_source_mapping(
        EventSourceArn=arn,
        FunctionName="defer-processor",
        BatchSize=10,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )

    def curated() -> list[str]:
        listed = s3.list_objects_v2(Bucket=CURATED).get("Contents", [])
        return sorted(o["Key"] for o in listed)

    runner = Runner(endpoint, REGION, refresh_interval=0.3)
    runner.start()
    try:
        if granted:
            done = _wait(lambda: len(curated()) == 2 and curated(), 60, "both files curated")
            assert any("/1-" in key for key in done), "the deferred file is curated"
            assert queue_depth(sqs, dlq_url) == (0, 0), "a deferral alone never reaches the DLQ"
        else:
            _wait(lambda: queue_depth(sqs, dlq_url)[0] == 1, 60, "the deferred file in the DLQ")
            (moved,) = sqs.receive_message(QueueUrl=dlq_url, WaitTimeSeconds=1)["Messages"]
            assert moved["Body"] == bodies[1]
            assert [key for key in curated() if "/1-" in key] == []
    finally:
        runner.stop()
