"""Benchmark the stream sink (one Parquet object per batch and partition) against a naive sink
(one object per change record), into S3 of the local emulator, in the same run.

    uv run python -m bench.collect_sink_bench         # 10,000 changes (a few minutes)
    uv run python -m bench.collect_sink_bench --changes 500 --rounds 1

Starts the patched emulator in a process of its own on a free loopback port and creates one
bucket. The changes are the facts table's stream records (Lambda's DynamoDB event shape, from
``tests/support/collect.stream_record``) over ``--datasets`` datasets x ``--days`` days, in
stream order (sequence numbers increasing), cut into batches of ``--batch-size`` as the event
source mapping delivers them. Two orderings, each its own pair of cases:

- ``collector``: what collector runs produce. Each dataset's facts are written day by day
  (``batch_writer`` flushes 25 items per BatchWriteItem) and concurrent runs of different
  datasets interleave chunk by chunk, so a batch holds a few partitions;
- ``interleaved``: every record's dataset and day drawn at random, the worst case for grouping
  (a batch of 100 touches most of the 70 partitions).

Cases, both through ``headwater.collect.s3_store.S3Store`` on the same client with the same
thread pool (``--workers`` parallel puts), so the difference is the grouping alone:

- ``sink``:  ``headwater.collect.sink.sink_batch`` per batch: one object per partition;
- ``naive``: one object per record (the same Parquet columns, one row each).

The cases take turns for ``--rounds`` rounds (a shared machine's drift weighs on both alike);
each round writes under its own prefix, after a warm-up batch of each. Outside the timing,
every object is read back and the run exits 1 unless each case's objects hold every change
exactly once. Prints a Markdown table (records/s, objects, objects per 10,000 changes, x naive)
and writes JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any

from bench.common import RESULTS_DIR, machine, now, write_report

BUCKET = "hw-bench-changes"
BASELINE = "naive"
CASES = ("sink", BASELINE)
ORDERS = ("collector", "interleaved")
BASE = 10**21  # DynamoDB sequence numbers are 21 to 40 digits


def changes(count: int, datasets: int, days: int, order: str, seed: int = 8) -> list[dict]:
    """``count`` stream records in stream order, over ``datasets`` x ``days`` partitions.

    Each (dataset, day) holds facts keyed by campaign; a key's first change is an INSERT, a
    later one a MODIFY, and about 2% are REMOVEs of a key written before (TTL expiries).
    """
    from tests.support.collect import stream_record

    rng = random.Random(seed)
    names = [f"source{d:02d}" for d in range(datasets)]
    first = date(2026, 11, 25)
    day_names = [(first + timedelta(days=d)).isoformat() for d in range(days)]
    partitions = [(n, d) for n in names for d in day_names]
    if order == "interleaved":
        picks = [rng.choice(partitions) for _ in range(count)]
    else:
        # Per dataset, its facts day by day; runs interleave in BatchWriteItem chunks of 25.
        per = -(-count // len(partitions))
        queues = {n: [(n, d) for d in day_names for _ in range(per)] for n in names}
        picks = []
        while len(picks) < count:
            name = rng.choice([n for n in names if queues[n]])
            chunk, queues[name] = queues[name][:25], queues[name][25:]
            picks.extend(chunk)
        picks = picks[:count]
    written: dict[tuple[str, str, str], int] = {}
    out = []
    sequence = BASE
    for dataset, day in picks:
        sequence += rng.randint(1, 5)
        campaign = f"campaign-{rng.randrange(50):02d}"
        key = (dataset, day, campaign)
        if key in written and rng.random() < 0.02:
            operation = "REMOVE"
            del written[key]
        else:
            operation = "MODIFY" if key in written else "INSERT"
            written[key] = written.get(key, 0) + 1
        out.append(
            stream_record(
                sequence,
                dataset=dataset,
                day=day,
                campaign=campaign,
                operation=operation,
                clicks=written.get(key, 1),
            )
        )
    return out


def naive_batch(event: dict[str, Any], store: Any, prefix: str, pool: ThreadPoolExecutor) -> int:
    """One object per record, keyed by its own sequence number; returns the objects written."""
    from headwater.collect import sink

    records = [sink.parse_record(r) for r in event["Records"]]

    def put(record: Any) -> None:
        store.put(sink.object_key(prefix, [record]), sink.to_parquet([record]))

    list(pool.map(put, records))
    return len(records)


def run_case(
    case: str,
    batches: list[dict[str, Any]],
    store: Any,
    prefix: str,
    workers: int,
) -> dict[str, Any]:
    from headwater.collect import sink

    objects = 0
    started = time.perf_counter()
    if case == "sink":
        for event in batches:
            result = sink.sink_batch(event, store, prefix, max_workers=workers)
            if result.response["batchItemFailures"]:
                raise SystemExit(f"sink reported failures: {result.errors[:3]}")
            objects += len(result.written)
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for event in batches:
                objects += naive_batch(event, store, prefix, pool)
    seconds = time.perf_counter() - started
    return {"case": case, "seconds": seconds, "objects": objects}


def verify(s3: Any, prefix: str, expected: list[str]) -> list[str]:
    """Problems with what landed under ``prefix``: every sequence number exactly once."""
    import pyarrow.parquet as pq

    seen: list[str] = []
    keys = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        for item in page.get("Contents", []):
            keys += 1
            body = s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
            seen += (
                pq.read_table(io.BytesIO(body), columns=["sequence_number"]).column(0).to_pylist()
            )
    problems = []
    if sorted(seen) != sorted(s.zfill(40) for s in expected):
        problems.append(f"{prefix}: {len(seen)} rows for {len(expected)} changes")
    return problems


def markdown_table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| order | case | changes | seconds, all rounds | records/s | x naive records/s | objects "
        "| objects per 10,000 changes | x naive objects |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        base = next(b for b in results if b["case"] == BASELINE and b["order"] == r["order"])
        lines.append(
            f"| {r['order']} | {r['case']} | {r['changes']:,} | {r['seconds']:.1f} | "
            f"{r['records_per_s']:,.0f} | {r['records_per_s'] / base['records_per_s']:.2f} | "
            f"{r['objects']:,} | {r['objects_per_10k']:,.0f} | "
            f"{r['objects'] / base['objects']:.3f} |"
        )
    return "\n".join(lines)


def merge(order: str, case: str, rounds: list[dict[str, Any]], count: int) -> dict[str, Any]:
    seconds = sum(r["seconds"] for r in rounds)
    objects = rounds[0]["objects"]  # the same every round (deterministic input)
    return {
        "order": order,
        "case": case,
        "changes": count,
        "rounds": len(rounds),
        "seconds": seconds,
        "records_per_s": count * len(rounds) / seconds,
        "objects": objects,
        "objects_per_10k": objects * 10_000 / count,
        "round_seconds": [r["seconds"] for r in rounds],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=10_000)
    parser.add_argument("--datasets", type=int, default=10)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--workers", type=int, default=8, help="parallel puts (both cases)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--orders", nargs="+", choices=ORDERS, default=list(ORDERS))
    parser.add_argument("--results-dir", default=str(RESULTS_DIR))
    args = parser.parse_args(argv)

    from headwater.collect.s3_store import S3Store
    from tests.support.emulator import make_client, running_emulator

    results: list[dict[str, Any]] = []
    problems: list[str] = []
    with running_emulator(own_process=True) as emulator:
        s3 = make_client("s3", f"http://127.0.0.1:{emulator.port}")
        s3.create_bucket(Bucket=BUCKET)
        store = S3Store(s3, BUCKET)
        # Warm-up, not measured: imports (pyarrow, zstd), connections, the emulator's first
        # bucket writes. Without it the first case timed pays for them.
        warm = {"Records": changes(args.batch_size, args.datasets, args.days, "interleaved")}
        for case in CASES:
            run_case(case, [warm], store, f"warm-up/{case}/", args.workers)
        for order in args.orders:
            records = changes(args.changes, args.datasets, args.days, order)
            expected = [r["dynamodb"]["SequenceNumber"] for r in records]
            batches = [
                {"Records": records[i : i + args.batch_size]}
                for i in range(0, len(records), args.batch_size)
            ]
            rounds: dict[str, list[dict[str, Any]]] = {c: [] for c in CASES}
            for n in range(args.rounds):
                # Alternate which case goes first, so neither always runs on a warmer emulator.
                for case in CASES if n % 2 == 0 else CASES[::-1]:
                    prefix = f"{order}/{case}/round-{n}/"
                    print(f"  {order} {case} round {n + 1} ...", file=sys.stderr)
                    rounds[case].append(run_case(case, batches, store, prefix, args.workers))
                    problems += verify(s3, prefix, expected)
            results += [merge(order, c, rounds[c], args.changes) for c in CASES]

    table = markdown_table(results)
    print(
        f"\n{args.changes:,} changes over {args.datasets} datasets x {args.days} days, batches of "
        f"{args.batch_size}, {args.workers} parallel puts, {args.rounds} rounds\n"
    )
    print(table)
    report = {"machine": machine(), "at": now(), "input": vars(args), "results": results}
    path = write_report(report, args.results_dir, f"collect-sink-{args.changes}")
    print(f"\nresults: {path}", file=sys.stderr)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
