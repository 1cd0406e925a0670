"""Benchmark the crash-safe emulator: write throughput and reads with the journal on vs off, and
the start-up time that replaying a long journal costs.

    uv run python -m bench.persistence_bench --writes 3000 --concurrency 4

In one process, one case after another, an emulator is started on a free port and a write-heavy
workload runs against it over HTTP: ``--concurrency`` threads share ``--writes`` requests, a third
each DynamoDB PutItem, SQS SendMessage and S3 PutObject (``--object-kb`` bodies). Then the same
threads send ``--reads`` GetItem requests (the hot read path must not pay for the journal).

- memory: no persistence (moto as it is) - the baseline, run first and again last (noise)
- os:     the default: every write reaches the OS (``os.write``) before its 2xx
- fsync:  every write is also fsynced (power-loss safe)

After the ``os`` case the emulator is stopped and started again on its journal: ``restart`` is the
time that start-up takes (replay included) and what it restored is checked (every item, message
and object is there). Prints a Markdown table and writes JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.common import RESULTS_DIR, machine, now, percentile, write_report
from tests.support.emulator import make_client

TABLE, QUEUE, BUCKET = "bench-persist", "bench-persist", "bench-persist"
CASES = ("memory", "os", "fsync", "memory_again")


def start_emulator(persist_dir: Path | None, fsync: bool = False):
    from headwater.local.emulator import Emulator

    if persist_dir is None:
        # Process-wide moto state: a case without a journal starts from empty backends too.
        from moto.moto_api._internal.models import moto_api_backend

        moto_api_backend.reset()
    emulator = Emulator(port=0, persist_dir=persist_dir, fsync=fsync)
    started = time.perf_counter()
    emulator.start()
    return emulator, time.perf_counter() - started


def create_resources(endpoint: str) -> dict[str, Any]:
    ddb, sqs, s3 = (make_client(s, endpoint) for s in ("dynamodb", "sqs", "s3"))
    ddb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    queue = sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
    s3.create_bucket(Bucket=BUCKET)
    return {"queue": queue}


def run_threads(count: int, concurrency: int, work: Callable[[Any, int], None], endpoint: str):
    """``work(clients, i)`` for i in range(count) on ``concurrency`` threads, each with its own
    clients made before the clock starts; returns (seconds, sorted per-request seconds)."""
    local = threading.local()
    latencies: list[float] = []
    lock = threading.Lock()
    ready = threading.Barrier(concurrency)

    def init() -> None:
        local.clients = {s: make_client(s, endpoint) for s in ("dynamodb", "sqs", "s3")}

    def wait_ready(_: int) -> None:
        ready.wait()

    def one(i: int) -> None:
        started = time.perf_counter()
        work(local.clients, i)
        elapsed = time.perf_counter() - started
        with lock:
            latencies.append(elapsed)

    with ThreadPoolExecutor(concurrency, initializer=init) as pool:
        list(pool.map(wait_ready, range(concurrency)))  # every thread up, with its clients
        started = time.perf_counter()
        list(pool.map(one, range(count)))
        seconds = time.perf_counter() - started
    return seconds, sorted(latencies)


def workload(args: argparse.Namespace, endpoint: str) -> dict[str, Any]:
    queue = create_resources(endpoint)["queue"]
    body = b"x" * (args.object_kb * 1024)

    def write(clients: dict, i: int) -> None:
        kind = i % 3
        if kind == 0:
            clients["dynamodb"].put_item(
                TableName=TABLE, Item={"pk": {"S": f"k{i}"}, "n": {"N": str(i)}}
            )
        elif kind == 1:
            clients["sqs"].send_message(QueueUrl=queue, MessageBody=f"m{i}")
        else:
            clients["s3"].put_object(Bucket=BUCKET, Key=f"o{i}", Body=body)

    def read(clients: dict, i: int) -> None:
        key = f"k{3 * (i % len(range(0, args.writes, 3)))}"  # an item the writes stored
        clients["dynamodb"].get_item(TableName=TABLE, Key={"pk": {"S": key}})

    write_seconds, write_lat = run_threads(args.writes, args.concurrency, write, endpoint)
    read_seconds, read_lat = run_threads(args.reads, args.concurrency, read, endpoint)
    return {
        "writes_per_s": args.writes / write_seconds,
        "write_p50_ms": percentile(write_lat, 0.5) * 1000,
        "write_p99_ms": percentile(write_lat, 0.99) * 1000,
        "reads_per_s": args.reads / read_seconds,
        "read_p50_ms": percentile(read_lat, 0.5) * 1000,
    }


def restored(endpoint: str, args: argparse.Namespace) -> dict[str, int]:
    """What a restarted emulator holds: counted, to check the replay restored every write."""
    ddb, sqs, s3 = (make_client(s, endpoint) for s in ("dynamodb", "sqs", "s3"))
    queue = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    objects = sum(
        page.get("KeyCount", 0)
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
    )
    return {
        "items": ddb.scan(TableName=TABLE, Select="COUNT")["Count"],
        "messages": int(attributes["ApproximateNumberOfMessages"]),
        "objects": objects,
    }


def expected(writes: int) -> dict[str, int]:
    return {
        "items": len(range(0, writes, 3)),
        "messages": len(range(1, writes, 3)),
        "objects": len(range(2, writes, 3)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--writes", type=int, default=3000)
    parser.add_argument("--reads", type=int, default=1500)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--object-kb", type=int, default=4)
    parser.add_argument("--work-dir", type=Path, default=None)
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    work_dir = Path(args.work_dir or tempfile.mkdtemp(prefix="hw-persist-bench-"))

    results: dict[str, dict[str, Any]] = {}
    restart: dict[str, Any] = {}
    for case in CASES:
        persist_dir = None if case.startswith("memory") else work_dir / case
        emulator, _ = start_emulator(persist_dir, fsync=case == "fsync")
        try:
            results[case] = workload(args, emulator.endpoint_url)
        finally:
            emulator.stop()
        if case == "os":
            journal = persist_dir / "journal.bin"
            emulator, seconds = start_emulator(persist_dir)
            try:
                report = emulator.persistence.report
                restart = {
                    "seconds": seconds,
                    "replayed": report.requests,
                    "failed": report.failed,
                    "journal_mb": journal.stat().st_size / 1e6,
                    "restored": restored(emulator.endpoint_url, args),
                }
            finally:
                emulator.stop()

    base = (results["memory"]["writes_per_s"] + results["memory_again"]["writes_per_s"]) / 2
    read_base = (results["memory"]["reads_per_s"] + results["memory_again"]["reads_per_s"]) / 2
    print(
        f"\n{args.writes} writes (PutItem / SendMessage / PutObject {args.object_kb} KB), "
        f"{args.reads} GetItem, {args.concurrency} threads\n"
    )
    print("| case | writes/s | x memory | write p50 ms | write p99 ms | GetItem/s | x memory |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for case, r in results.items():
        print(
            f"| {case} | {r['writes_per_s']:.0f} | {r['writes_per_s'] / base:.2f} | "
            f"{r['write_p50_ms']:.1f} | {r['write_p99_ms']:.1f} | {r['reads_per_s']:.0f} | "
            f"{r['reads_per_s'] / read_base:.2f} |"
        )
    print(
        f"\nrestart on the os journal: {restart['seconds']:.2f}s for {restart['replayed']} "
        f"requests ({restart['journal_mb']:.1f} MB), restored {restart['restored']}"
    )
    ok = restart["restored"] == expected(args.writes) and restart["failed"] == 0
    if not ok:
        print(f"restored {restart['restored']}, expected {expected(args.writes)}", file=sys.stderr)
    report = {
        "machine": machine(),
        "at": now(),
        "input": {
            "writes": args.writes,
            "reads": args.reads,
            "concurrency": args.concurrency,
            "object_kb": args.object_kb,
        },
        "results": [{"case": c, **r} for c, r in results.items()],
        "restart": restart,
        "expected": expected(args.writes),
    }
    print(f"\nresults: {write_report(report, args.results_dir, 'persistence_bench')}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
