"""Stream sink: parsing, keys, and exactly-once across retries, partial failures and bisects.

The store is an in-memory fake (this is the domain's test; S3 itself is the handler's), and the
event source mapping is a simulator of Lambda's semantics for one shard: a batch starts at the
checkpoint; a partial batch response moves the checkpoint to the reported record; an exception
retries the batch, halved when bisect is on.
"""

from __future__ import annotations

import copy
import io
import json
import random
import threading
from datetime import date
from decimal import Decimal

import pyarrow.parquet as pq
import pytest
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from headwater.collect import sink

ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/facts/stream/2026-01-01T00:00:00.000"
# 21 digits, crossing to 22 within a few records: string order would put the long ones first.
BASE = 10**21 - 7
SER = TypeSerializer()


def _dj(item):
    return {k: SER.serialize(v) for k, v in item.items()}


def stream_record(seq, dataset="synthetic", day="2026-01-02", op="INSERT", ttl=False, **extra):
    keys = {"pk": f"sub-1#{dataset}#acct-1", "sk": f"{day}#campaign-{seq % 3}"}
    item = {**keys, "spend": Decimal("12.34"), "clicks": 3}
    dynamodb = {
        "Keys": _dj(keys),
        "SequenceNumber": str(seq),
        "ApproximateCreationDateTime": 1767225600.0,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if op in ("INSERT", "MODIFY"):
        dynamodb["NewImage"] = _dj(item)
    if op in ("MODIFY", "REMOVE"):
        dynamodb["OldImage"] = _dj({**item, "clicks": 1})
    record = {
        "eventID": f"ev-{seq}",
        "eventName": op,
        "eventSource": "aws:dynamodb",
        "eventSourceARN": ARN,
        "dynamodb": dynamodb,
    }
    if ttl:
        record["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    record.update(extra)
    return record


class FakeStore:
    """Objects in a dict; ``fail_put`` fails that (1-based) put once; ``fail_after`` then
    fails the next operation too (a failing trim)."""

    def __init__(self, fail_put=None, fail_after=False):
        self.objects: dict[str, bytes] = {}
        self.puts = 0
        self.fail_put, self.fail_after = fail_put, fail_after
        self._fail_next = False
        self.lock = threading.Lock()

    def _maybe_fail(self):
        if self._fail_next:
            self._fail_next = False
            raise OSError("injected trim failure")

    def put(self, key, body):
        with self.lock:
            self._maybe_fail()
            self.puts += 1
            if self.puts == self.fail_put:
                self._fail_next = self.fail_after
                raise OSError(f"injected failure of put {self.puts}")
            self.objects[key] = body

    def delete(self, key):
        with self.lock:
            self._maybe_fail()
            self.objects.pop(key, None)

    def rows(self):
        out = {}
        for key, body in self.objects.items():
            out[key] = pq.read_table(io.BytesIO(body)).to_pylist()
        return out


def run_mapping(records, store, batch_size, bisect=True, workers=1, max_attempts=1000):
    """Lambda's event source mapping for one shard; returns (attempts, trim errors seen)."""
    checkpoint, limit, attempts, trim_errors = 0, batch_size, 0, 0
    while checkpoint < len(records):
        attempts += 1
        assert attempts < max_attempts, "the mapping never got past the shard"
        batch = records[checkpoint : checkpoint + limit]
        try:
            result = sink.sink_batch({"Records": batch}, store, "changes/", max_workers=workers)
        except sink.TrimError:
            trim_errors += 1
            if bisect and len(batch) > 1:
                limit = len(batch) // 2
            continue
        failures = result.response["batchItemFailures"]
        if failures:
            # Lambda checkpoints before the lowest reported sequence number.
            c = min(int(f["itemIdentifier"]) for f in failures)
            done = [r for r in batch if int(r["dynamodb"]["SequenceNumber"]) < c]
        else:
            done = batch
        checkpoint += len(done)
        limit = batch_size
    return attempts, trim_errors


def assert_exactly_once(store, records):
    seen = []
    for key, rows in store.rows().items():
        assert rows, f"{key} is empty"
        sequences = [int(r["sequence_number"]) for r in rows]
        assert sequences == sorted(sequences)
        assert key.endswith(f"-{rows[0]['sequence_number']}.parquet")  # keyed by its first
        dataset = key.split("dataset=")[1].split("/")[0]
        assert all(r["pk"].split("#")[1] == dataset for r in rows)
        seen.extend(sequences)
    expected = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert sorted(seen) == sorted(expected)  # every record, none twice
    assert len(set(seen)) == len(seen)


def interleaved(n, datasets=3, days=2, seed=7):
    rng = random.Random(seed)
    out, seq = [], BASE
    for _ in range(n):
        seq += rng.randint(1, 3)
        out.append(
            stream_record(
                seq,
                dataset=f"ds{rng.randrange(datasets)}",
                day=f"2026-01-0{1 + rng.randrange(days)}",
                op=rng.choice(["INSERT", "MODIFY", "REMOVE"]),
            )
        )
    return out


RECORDS = interleaved(24)
BATCH = 8


def _puts_without_failure():
    store = FakeStore()
    run_mapping(RECORDS, store, BATCH)
    return store.puts


def test_success_is_one_object_per_batch_and_partition():
    store = FakeStore()
    run_mapping(RECORDS, store, BATCH)
    assert_exactly_once(store, RECORDS)
    expected = sum(
        len({sink.parse_record(r).partition for r in RECORDS[i : i + BATCH]})
        for i in range(0, len(RECORDS), BATCH)
    )
    assert len(store.objects) == store.puts == expected


@pytest.mark.parametrize("bisect", [True, False])
@pytest.mark.parametrize("trim_fails", [False, True])
@pytest.mark.parametrize("workers", [1, 4])
def test_a_failure_at_every_position_still_lands_each_record_once(bisect, trim_fails, workers):
    total = _puts_without_failure()
    assert total > BATCH  # several batches, several partitions each
    batches = -(-len(RECORDS) // BATCH)
    trims_failed = 0
    for k in range(1, total + 1):
        store = FakeStore(fail_put=k, fail_after=trim_fails)
        attempts, trim_errors = run_mapping(RECORDS, store, BATCH, bisect=bisect, workers=workers)
        assert attempts > batches  # the failure was injected and retried
        assert_exactly_once(store, RECORDS)
        trims_failed += trim_errors
    # A failing trim happens wherever a written object held records past the failure.
    assert (trims_failed > 0) is trim_fails


def test_partial_failure_trims_and_reports_the_smallest_failed_record():
    # Partitions: A at 1, 4; B at 2, 5; C at 3. Groups write in order A, B, C; fail B's put.
    layout = [("a", 1), ("b", 2), ("c", 3), ("a", 4), ("b", 5)]
    batch = [stream_record(BASE + s, dataset=d) for d, s in layout]
    store = FakeStore(fail_put=2)
    result = sink.sink_batch({"Records": batch}, store, "p/", max_workers=1)
    assert result.failed_at == str(BASE + 2)
    assert result.response == {"batchItemFailures": [{"itemIdentifier": str(BASE + 2)}]}
    rows = store.rows()
    # A's object rewritten with its record < c only; C (not written: after the failure) absent.
    assert [[int(r["sequence_number"]) for r in v] for v in rows.values()] == [[BASE + 1]]
    assert result.written == list(rows)


def test_sequence_numbers_compare_as_integers():
    short, long_ = stream_record(10**21 - 1), stream_record(10**21 + 1)
    assert str(10**21 + 1) < str(10**21 - 1)  # as strings the later one sorts first
    store = FakeStore()
    result = sink.sink_batch({"Records": [long_, short]}, store, "p/")
    (key,) = result.written
    assert key.endswith(f"-{str(10**21 - 1).zfill(40)}.parquet")
    rows = store.rows()[key]
    assert [int(r["sequence_number"]) for r in rows] == [10**21 - 1, 10**21 + 1]


def test_object_key_layout():
    record = sink.parse_record(stream_record(BASE, dataset="synthetic", day="2026-03-04"))
    assert sink.object_key("changes/", [record]) == (
        f"changes/dataset=synthetic/day=2026-03-04/20260101T000000000-{str(BASE).zfill(40)}.parquet"
    )
    assert record.partition == sink.Partition("synthetic", date(2026, 3, 4))


def test_ttl_removal_is_recognised_and_a_user_delete_is_not():
    ttl = sink.parse_record(stream_record(BASE, op="REMOVE", ttl=True))
    user = sink.parse_record(stream_record(BASE, op="REMOVE"))
    assert (ttl.operation, ttl.ttl_removal, ttl.new_image) == ("REMOVE", True, None)
    assert (user.operation, user.ttl_removal) == ("REMOVE", False)
    store = FakeStore()
    sink.sink_batch({"Records": [stream_record(BASE, op="REMOVE", ttl=True)]}, store, "p/")
    (rows,) = store.rows().values()
    assert rows[0]["ttl_removal"] is True and rows[0]["new_image"] is None


def test_modify_keeps_both_images_exactly():
    record = sink.parse_record(stream_record(BASE, op="MODIFY"))
    assert record.new_image["clicks"] == 3 and record.old_image["clicks"] == 1
    store = FakeStore()
    sink.sink_batch({"Records": [stream_record(BASE, op="MODIFY")]}, store, "p/")
    (rows,) = store.rows().values()
    row = rows[0]
    assert row["operation"] == "MODIFY"
    deserialize = TypeDeserializer().deserialize
    new = {k: deserialize(v) for k, v in json.loads(row["new_image"]).items()}
    old = {k: deserialize(v) for k, v in json.loads(row["old_image"]).items()}
    assert new["spend"] == Decimal("12.34") and new["clicks"] == 3 and old["clicks"] == 1
    assert row["pk"] == "sub-1#synthetic#acct-1"
    assert row["approximate_creation_time"].year == 2026


def test_an_unreadable_record_is_a_failure_at_its_own_position():
    good = [stream_record(BASE + i) for i in range(3)]
    bad = stream_record(BASE + 3, eventName="UPDATE")
    after = stream_record(BASE + 4)
    store = FakeStore()
    result = sink.sink_batch({"Records": [*good, bad, after]}, store, "p/")
    assert result.failed_at == str(BASE + 3)
    assert "eventName 'UPDATE'" in result.errors[0]
    (rows,) = store.rows().values()
    assert [int(r["sequence_number"]) for r in rows] == [BASE, BASE + 1, BASE + 2]


@pytest.mark.parametrize(
    "keys", [{"pk": "no-separators", "sk": "2026-01-01#c"}, {"pk": "a#b#c", "sk": "yesterday"}]
)
def test_keys_that_are_not_a_facts_key_are_refused(keys):
    with pytest.raises(sink.RecordError, match="not a fact's pk and sk"):
        sink.partition_of(keys)


def test_objects_for_ten_thousand_changes(capsys):
    """10,000 changes over 10 datasets x 7 days, batches of 100, against one object per record.
    Random interleaving is the worst case; a collector writes one account's window at a time,
    so its changes arrive grouped by dataset and day."""
    n, batch = 10_000, 100
    shuffled = interleaved(n, datasets=10, days=7, seed=1)
    grouped = sorted(
        copy.deepcopy(shuffled),
        key=lambda r: (sink.parse_record(r).partition.dataset, sink.parse_record(r).partition.day),
    )
    for i, r in enumerate(grouped):  # keep the stream order the sort made
        r["dynamodb"]["SequenceNumber"] = str(BASE + i)
    counts = {}
    for name, records in (("interleaved", shuffled), ("grouped", grouped)):
        sequences = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
        assert sequences == sorted(sequences)  # a shard delivers in sequence order
        store = FakeStore()
        run_mapping(records, store, batch, workers=4)
        assert_exactly_once(store, records)
        counts[name] = len(store.objects)
    # Interleaved: each batch of 100 over 70 partitions touches ~53 of them.
    assert 4000 < counts["interleaved"] < 6000
    # Grouped: ~143 changes per partition, so a batch spans one or two partitions.
    assert counts["grouped"] <= n // batch + 70
    with capsys.disabled():
        print(f"\nobjects for {n} changes: {counts} (one per record: {n})")
