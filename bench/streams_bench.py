"""Benchmark the local DynamoDB stream path: the stream poller against reading and invoking by hand,
and the TTL sweeper's periodic check against moto's own item walk.

    uv run python -m bench.streams_bench --records 2000 --items 50000

One process, one emulator on a free port (TTL sweeper off), one runner:

- poller:   ``--records`` items are written to a table with a stream, then a TRIM_HORIZON mapping
            (batch size ``--batch-size``) delivers them to a function that records each batch;
            timed from the mapping's creation to the last record delivered.
- by_hand:  the baseline, same process, same records: GetShardIterator + GetRecords over the
            whole stream, the records reshaped for Lambda, the function invoked synchronously by
            the same runner with batches of the same size. The floor for the poller's work.
- ttl_check: the sweeper's read-only check (``dynamodb_ttl.expired_items``) over a TTL table of
            ``--items`` items, none expired (what runs every interval in the emulator).
- all_items: the baseline, moto's ``Table.all_items()`` over the same table (what a Scan walks).

Prints a Markdown table (seconds, ratio to its baseline) and writes JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import RESULTS_DIR, machine, now, write_report
from tests.support import paths
from tests.support.emulator import code_zip, lambda_role, make_client

REGION = "us-east-1"


def _table(ddb: Any, name: str, stream: bool, ttl: bool = False) -> str | None:
    spec = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"} if stream else None
    created = ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        **({"StreamSpecification": spec} if spec else {}),
    )
    if ttl:
        ddb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"}
        )
    return created["TableDescription"].get("LatestStreamArn")


def _delivered(directory: Path) -> int:
    return sum(
        len(json.loads(p.read_text())["event"]["Records"]) for p in directory.glob("batch-*.json")
    )


def stream_cases(endpoint: str, records: int, batch_size: int, work: Path) -> dict[str, float]:
    from headwater.local.event_sources.dynamodb_streams import dynamodb_record
    from headwater.local.lambda_service.runner import Runner

    ddb, lam = make_client("dynamodb", endpoint), make_client("lambda", endpoint)
    stream_arn = _table(ddb, "bench-stream", stream=True)
    for n in range(records):
        ddb.put_item(TableName="bench-stream", Item={"pk": {"S": f"k{n:06d}"}, "v": {"N": "1"}})
    role = lambda_role(make_client("iam", endpoint), "bench-stream")
    for name in ("by-poller", "by-hand"):
        lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="hw_runner_fixtures.handlers.stream",
            Timeout=30,
            Environment={"Variables": {"RECORD_DIR": str(work / name)}},
            Code={"ZipFile": code_zip()},
        )
    runner = Runner(endpoint, REGION, refresh_interval=0.2)
    runner.start()
    try:
        runner.invoke("by-poller", {"Records": []})  # warm both workers: not part of either time
        runner.invoke("by-hand", {"Records": []})
        for warm in work.glob("*/batch-*.json"):
            warm.unlink()

        started = time.perf_counter()
        streams = make_client("dynamodbstreams", endpoint)
        shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]
        iterator = streams.get_shard_iterator(
            StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        read: list[dict] = []
        while len(read) < records:
            response = streams.get_records(ShardIterator=iterator, Limit=1000)
            iterator = response["NextShardIterator"]
            read.extend(dynamodb_record(r, stream_arn, REGION) for r in response["Records"])
        for start in range(0, len(read), batch_size):
            runner.invoke("by-hand", {"Records": read[start : start + batch_size]})
        by_hand = time.perf_counter() - started
        assert _delivered(work / "by-hand") == records

        started = time.perf_counter()
        lam.create_event_source_mapping(
            EventSourceArn=stream_arn,
            FunctionName="by-poller",
            StartingPosition="TRIM_HORIZON",
            BatchSize=batch_size,
        )
        deadline = time.monotonic() + 300
        while _delivered(work / "by-poller") < records and time.monotonic() < deadline:
            time.sleep(0.02)
        poller = time.perf_counter() - started
        assert _delivered(work / "by-poller") == records, "the poller lost records"
    finally:
        runner.stop()
    return {"poller": poller, "by_hand": by_hand}


def ttl_cases(endpoint: str, items: int) -> dict[str, float]:
    from moto.dynamodb.models import dynamodb_backends

    from headwater.local import dynamodb_ttl

    ddb = make_client("dynamodb", endpoint)
    _table(ddb, "bench-ttl", stream=False, ttl=True)
    far = str(int(time.time()) + 10**6)
    for start in range(0, items, 25):
        ddb.batch_write_item(
            RequestItems={
                "bench-ttl": [
                    {"PutRequest": {"Item": {"pk": {"S": f"i{n:07d}"}, "exp": {"N": far}}}}
                    for n in range(start, min(items, start + 25))
                ]
            }
        )
    table = dynamodb_backends["123456789012"][REGION].tables["bench-ttl"]
    started = time.perf_counter()
    table.all_items()
    all_items = time.perf_counter() - started
    started = time.perf_counter()
    expired = dynamodb_ttl.expired_items(time.time())
    ttl_check = time.perf_counter() - started
    assert expired == []
    return {"ttl_check": ttl_check, "all_items": all_items}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--items", type=int, default=50000)
    parser.add_argument("--results-dir", default=str(RESULTS_DIR))
    parser.add_argument("--work-dir", default=None, help="where the functions record batches")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(paths.FIXTURES / "local"))  # the recording handler, for the workers
    import os

    # The runner imports only handlers of named packages (see tests/integration/conftest.py).
    os.environ.setdefault("HEADWATER_HANDLER_PACKAGES", "hw_runner_fixtures")
    os.environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(paths.FIXTURES / "local"), os.environ.get("PYTHONPATH")])
    )
    from headwater.local.emulator import Emulator

    emulator = Emulator(port=0, ttl_sweep_interval=0)
    emulator.start()
    try:
        work = Path(args.work_dir or tempfile.mkdtemp(prefix="streams-bench-"))
        times = stream_cases(emulator.endpoint_url, args.records, args.batch_size, work)
        times.update(ttl_cases(emulator.endpoint_url, args.items))
    finally:
        emulator.stop()
    rows = [
        ("poller", times["poller"], times["poller"] / times["by_hand"], "by_hand"),
        ("by_hand", times["by_hand"], 1.0, ""),
        ("ttl_check", times["ttl_check"], times["ttl_check"] / times["all_items"], "all_items"),
        ("all_items", times["all_items"], 1.0, ""),
    ]
    print(f"records {args.records}, batch size {args.batch_size}, TTL items {args.items}\n")
    print("| case | seconds | x baseline | baseline |\n|---|---:|---:|---|")
    for name, seconds, ratio, baseline in rows:
        print(f"| {name} | {seconds:.3f} | {ratio:.2f} | {baseline} |")
    report = {
        "when": now(),
        "machine": machine(),
        "args": vars(args),
        "seconds": times,
        "delivered": {
            "poller": _delivered(work / "by-poller"),
            "by_hand": _delivered(work / "by-hand"),
        },
        "ratios": {"poller/by_hand": rows[0][2], "ttl_check/all_items": rows[2][2]},
    }
    print(f"\nwritten to {write_report(report, args.results_dir, 'streams')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
