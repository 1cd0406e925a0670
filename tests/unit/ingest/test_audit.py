"""Every raw version under a prefix in a window is found where the processor left it, or named."""

from __future__ import annotations

import argparse
import datetime as dt
import json

import boto3
import pytest
from moto import mock_aws

from headwater.cli.ingest import parse_time
from headwater.ingest import audit
from headwater.ingest.naming import curated_name, quarantine_keys

RAW, CURATED, QUARANTINE = "raw", "curated", "quarantine"


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        s3 = boto3.client("s3")
        sqs = boto3.client("sqs")
        for name in (RAW, CURATED, QUARANTINE):
            s3.create_bucket(Bucket=name)
        s3.put_bucket_versioning(Bucket=RAW, VersioningConfiguration={"Status": "Enabled"})
        dlq = sqs.create_queue(QueueName="dlq")["QueueUrl"]
        delivery = sqs.create_queue(QueueName="delivery-dlq")["QueueUrl"]
        yield s3, sqs, (dlq, delivery)


def upload(s3, key: str, body: bytes = b"a,b\n1,2\n") -> dict:
    put = s3.put_object(Bucket=RAW, Key=key, Body=body)
    head = s3.head_object(Bucket=RAW, Key=key, VersionId=put["VersionId"])
    return {
        "key": key,
        "version": put["VersionId"],
        "etag": put["ETag"],
        "at": head["LastModified"],
    }


def curate(s3, raw: dict, day: dt.date | None = None, dataset: str = "sales") -> str:
    day = day or raw["at"].date()
    name = curated_name(raw["key"], raw["version"], raw["etag"])
    key = f"{dataset}/ingest_date={day.isoformat()}/{name}"
    s3.put_object(Bucket=CURATED, Key=key, Body=b"PAR1")
    return key


def quarantine(s3, raw: dict, rule: str) -> None:
    file_key, report_key = quarantine_keys(raw["key"], raw["version"], raw["etag"])
    s3.put_object(Bucket=QUARANTINE, Key=file_key, Body=b"bad")
    report = {"rule": rule, "source": {"key": raw["key"], "version_id": raw["version"]}}
    s3.put_object(Bucket=QUARANTINE, Key=report_key, Body=json.dumps(report).encode())
    s3.delete_object(Bucket=RAW, Key=raw["key"])  # a delete marker, as the processor leaves


def park(sqs, url: str, raw: dict, envelope: bool = False) -> None:
    event = {"detail": {"object": {"key": raw["key"], "version-id": raw["version"]}}}
    body = json.dumps(event)
    if envelope:  # the delivery DLQ may hold SNS envelopes
        body = json.dumps({"Type": "Notification", "Message": body})
    sqs.send_message(QueueUrl=url, MessageBody=body)


def make_audit(dlqs, prefix="ingest/", since=None, until=None, later=dt.timedelta(0), **kw):
    now = dt.datetime.now(dt.UTC)
    window = audit.Window(
        prefix,
        since or now - dt.timedelta(hours=1),
        until or now + dt.timedelta(minutes=1),
    )
    return audit.Audit(RAW, CURATED, QUARANTINE, dlqs, window, clock=lambda: now + later, **kw)


def test_every_version_is_classified_and_the_missing_ones_are_named(aws):
    s3, sqs, dlqs = aws
    good = upload(s3, "ingest/sales/good.csv.gz")
    curate(s3, good)
    first = upload(s3, "ingest/sales/twice.csv")
    quarantine(s3, first, "malformed")
    second = upload(s3, "ingest/sales/twice.csv")  # a later upload of the same key
    curate(s3, second)
    late = upload(s3, "ingest/sales/midnight.csv")  # event just after midnight: next partition
    curate(s3, late, day=late["at"].date() + dt.timedelta(days=1))
    slow = upload(s3, "ingest/sales/multipart.csv")  # completed days after it started
    curate(s3, slow, day=slow["at"].date() + dt.timedelta(days=3))
    parked = upload(s3, "ingest/events/poison.ndjson")
    park(sqs, dlqs[0], parked)
    undelivered = upload(s3, "ingest/events/undelivered.ndjson")
    park(sqs, dlqs[1], undelivered, envelope=True)
    lost = upload(s3, "ingest/sales/lost.csv")
    deleted = upload(s3, "ingest/sales/deleted output.csv")
    s3.delete_object(Bucket=CURATED, Key=curate(s3, deleted))
    upload(s3, "ingest/sales/folder/", b"")
    upload(s3, "lookup/employees/e.csv")

    ledger = make_audit(dlqs, prefix="", later=dt.timedelta(hours=1))
    ledger.run(s3, sqs)

    assert dict(ledger.counts) == {
        audit.CURATED: 4,
        audit.QUARANTINED: 1,
        audit.DLQ: 2,
        audit.UNACCOUNTED: 2,
        audit.SKIPPED: 2,
    }
    assert dict(ledger.rules) == {"malformed": 1}
    # Only what is not settled stays in memory, to be named.
    assert {(v.key, v.version_id) for v in ledger.by_state(audit.UNACCOUNTED)} == {
        (lost["key"], lost["version"]),
        (deleted["key"], deleted["version"]),
    }
    assert {v.state for v in ledger.open} == {audit.DLQ, audit.UNACCOUNTED}
    table = audit.render(ledger)
    assert f"{'not accounted for':<24}{2:>8}" in table
    assert f"  {lost['key']}\t{lost['version']}\t" in table
    assert f"  {deleted['key']}\t{deleted['version']}\t" in table
    assert f"  {parked['key']}\t{parked['version']}\t" in table
    # Peeking left both DLQs' messages in place, visible, for a redrive.
    for url in dlqs:
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert attributes["ApproximateNumberOfMessages"] == "1"


def test_a_young_version_is_in_flight_until_it_lands(aws):
    s3, sqs, dlqs = aws
    young = upload(s3, "ingest/sales/new.csv")
    ledger = make_audit(dlqs)
    ledger.run(s3, sqs)
    assert [v.key for v in ledger.by_state(audit.PENDING)] == [young["key"]]
    assert "in flight (key, version id, uploaded):" in audit.render(ledger)

    curate(s3, young)
    ledger.wait(s3, sqs, timeout=5, interval=0.01)
    assert ledger.open == [] and dict(+ledger.counts) == {audit.CURATED: 1}


def test_the_prefix_and_the_window_bound_what_is_listed(aws):
    s3, sqs, dlqs = aws
    curate(s3, upload(s3, "ingest/sales/in.csv"))
    upload(s3, "ingest/events/other.ndjson")
    ledger = make_audit(dlqs, prefix="ingest/sales/")
    ledger.run(s3, sqs)
    assert dict(ledger.counts) == {audit.CURATED: 1}

    future = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
    later = make_audit(dlqs, since=future, until=future + dt.timedelta(hours=1))
    later.run(s3, sqs)
    assert later.listed == 0


def test_listing_streams_page_by_page(aws, monkeypatch):
    s3, sqs, dlqs = aws
    for i in range(7):
        curate(s3, upload(s3, f"ingest/sales/p{i}.csv"))
    pages = []
    original = s3.get_paginator

    def small_pages(name):
        paginator = original(name)
        if name != "list_object_versions":
            return paginator
        real = paginator.paginate

        def paginate(**kwargs):
            for page in real(**kwargs, PaginationConfig={"PageSize": 3}):
                pages.append(len(page.get("Versions", [])))
                yield page

        paginator.paginate = paginate
        return paginator

    monkeypatch.setattr(s3, "get_paginator", small_pages)
    ledger = make_audit(dlqs)
    ledger.run(s3, sqs)
    assert pages == [3, 3, 1] and ledger.counts[audit.CURATED] == 7


def test_window_must_run_forward():
    now = dt.datetime.now(dt.UTC)
    with pytest.raises(ValueError, match="must be before"):
        audit.Window("ingest/", now, now)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90m", dt.datetime(2026, 11, 30, 22, 30, tzinfo=dt.UTC)),
        ("2d", dt.datetime(2026, 11, 29, 0, 0, tzinfo=dt.UTC)),
        ("2026-11-20", dt.datetime(2026, 11, 20, tzinfo=dt.UTC)),
        ("2026-11-20T08:00+02:00", dt.datetime(2026, 11, 20, 6, 0, tzinfo=dt.UTC)),
    ],
)
def test_times_are_iso_or_an_age(text, expected):
    now = dt.datetime(2026, 12, 1, 0, 0, tzinfo=dt.UTC)
    assert parse_time(text, now) == expected


def test_a_time_that_is_neither_is_refused():
    with pytest.raises(argparse.ArgumentTypeError, match="neither an ISO 8601"):
        parse_time("last tuesday")


def test_curated_versions_cost_listings_not_requests_per_file(aws):
    """Settled versions are found in listings: no GET or HEAD per curated file, so the calls
    grow with pages and partitions, not with files."""
    s3, sqs, dlqs = aws
    for i in range(25):
        curate(s3, upload(s3, f"ingest/sales/many/{i}.csv"))
    calls = []
    s3.meta.events.register("before-call.s3", lambda model, **_: calls.append(model.name))
    ledger = make_audit(dlqs)
    ledger.run(s3, sqs)
    assert ledger.counts[audit.CURATED] == 25
    assert set(calls) == {"ListObjectVersions", "ListObjectsV2"}
    # One version listing, the dataset listing, the upload day's and the next day's partition.
    assert len(calls) <= 4, calls
