"""Benchmark the weekly records summary (Query per key range, streamed to Parquet) against the
sample's design (a full-table Scan into memory, then count).

    uv run python -m bench.records_summary_bench --sizes 100000,300000

Starts the patched emulator in a process of its own on a free loopback port and grows one
records table (the packaged ``orders`` dataset, 4 shards) to each size in turn, a tenth in
the summarised week (2026-W48 in Europe/Berlin), the rest spread over the nine weeks before it,
plus a second dataset's records in that same week. At each size, each case runs in its own
subprocess (its peak RSS is its own: VmHWM, as ru_maxrss survives fork and exec; "growth" is
the peak minus the RSS after imports, so libraries loaded do not hide what the data costs):

- summary: ``headwater.records.summary.summarise_week`` (Parquet parts uploaded to the emulator)
- scan:    the baseline: Scan the whole table page by page into a list, keep the week's items
           of the dataset, count per day and per producer

Items read are ScannedCount summed, capacity is ReturnConsumedCapacity=TOTAL summed. The run
exits 1 unless the summary reads exactly the week's records and both cases count the same.

moto re-sorts what it holds on every Query/Scan page, so wall time here measures moto more than
either design; the targets are items read equal to the week's records (the Scan reads all of
them) and the summary's peak RSS flat as the table grows. Prints a Markdown table with ratios to
the baseline and writes JSON to bench/results/. moto's Scan re-walks the table from its start
on every page, so the baseline runs only up to ``--scan-up-to`` records (default 100k): beyond,
it would take hours here, and what it reads is known (every item).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, timedelta
from typing import Any

from bench.common import RESULTS_DIR, machine, now, write_report
from tests.support.paths import ROOT

TABLE, BUCKET = "hw-bench-records", "hw-bench-exports"
WEEK, ZONE = "2026-W48", "Europe/Berlin"
DATASET, OTHER = "orders", "returns"
BASELINE = "scan"
CASES = ("summary", BASELINE)


def _status_mb(field: str) -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def _rss_mb() -> float:
    return _status_mb("VmRSS")


def _peak_rss_mb() -> float:
    """This process's peak RSS: VmHWM, not ru_maxrss, which Linux keeps across fork and exec, so
    a child would report its parent's peak (here the emulator holding the whole table)."""
    return _status_mb("VmHWM")


# --- seeding (parent) ---------------------------------------------------------------------------


def create(endpoint: str) -> None:
    from tests.support.emulator import make_client
    from tests.support.records import create_records_table

    create_records_table(make_client("dynamodb", endpoint), TABLE)
    make_client("s3", endpoint).create_bucket(Bucket=BUCKET)


def seed(endpoint: str, count: int, rng: random.Random) -> tuple[int, float]:
    """Add ``count`` records: a tenth in the week (a twentieth of those in OTHER), the rest in
    the nine weeks before it. Returns how many of them are DATASET's in the week, and the
    records' billed bytes summed."""
    from boto3.dynamodb.types import TypeSerializer

    from headwater.records import items, keys
    from headwater.records.declarations import load_record_datasets
    from headwater.records.weeks import parse_week, zone
    from tests.support.emulator import make_client

    dynamodb = make_client("dynamodb", endpoint)
    shards = load_record_datasets()[DATASET].shards
    serializer = TypeSerializer()
    start, end = (b.astimezone(UTC) for b in parse_week(WEEK).bounds(zone(ZONE)))
    week_seconds = (end - start).total_seconds()
    in_week = 0
    total_bytes = 0.0
    batch: list[dict[str, Any]] = []
    for i in range(count):
        dataset = DATASET
        if i % 10 == 0:
            at = start + timedelta(seconds=rng.uniform(0, week_seconds))
            if i % 200 == 0:
                dataset = OTHER
            else:
                in_week += 1
        else:
            at = start - timedelta(seconds=rng.uniform(1, 9 * week_seconds))
        record = {
            "order_id": f"o-{i}",
            "customer_id": f"c-{rng.randrange(5000)}",
            "amount": round(rng.uniform(1, 500), 2),
            "currency": rng.choice(["EUR", "GBP", "USD"]),
            "quantity": rng.randrange(1, 20),
            "placed_at": keys.rfc3339(at - timedelta(minutes=rng.randrange(60))),
            "gift": rng.random() < 0.1,
        }
        item = items.new_item(
            dataset, keys.new_id(now=at), shards, f"key-{i % 7}", f"sub-{i % 7}", record
        )
        item["record"]["amount"] = _decimal(item["record"]["amount"])
        total_bytes += item_bytes(item)
        batch.append(
            {"PutRequest": {"Item": {k: serializer.serialize(v) for k, v in item.items()}}}
        )
        if len(batch) == 25 or i == count - 1:
            _write(dynamodb, batch)
            batch = []
    return in_week, total_bytes


def item_bytes(value: Any, name: str = "") -> float:
    """An item's size as DynamoDB bills it (approximately): attribute names plus values;
    strings by UTF-8 length, numbers by about half their digits plus one, booleans 1 byte,
    maps 3 bytes plus one per element (AWS, "Item sizes and formats")."""
    from decimal import Decimal

    size = len(name.encode())
    if isinstance(value, bool):
        return size + 1
    if isinstance(value, int | float | Decimal):
        digits = len(str(value).replace("-", "").replace(".", "").lstrip("0")) or 1
        return size + (digits + 1) // 2 + 1
    if isinstance(value, str):
        return size + len(value.encode())
    if isinstance(value, dict):
        return size + 3 + sum(item_bytes(v, k) + 1 for k, v in value.items())
    raise TypeError(type(value))


def _decimal(value: float) -> Any:
    from decimal import Decimal

    return Decimal(str(value))


def _write(dynamodb: Any, batch: list[dict[str, Any]]) -> None:
    pending = {TABLE: batch}
    while pending:
        pending = dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}


# --- the cases (children) -----------------------------------------------------------------------


def run_summary(endpoint: str, workdir: str) -> dict[str, Any]:
    from headwater.records.declarations import load_record_datasets
    from headwater.records.summary import Tuning, summarise_week
    from headwater.records.weeks import parse_week, zone
    from tests.support.emulator import make_client

    dataset = load_record_datasets()[DATASET]
    dynamodb, s3 = make_client("dynamodb", endpoint), make_client("s3", endpoint)
    import pyarrow.parquet  # noqa: F401 (loaded before the start RSS: libraries are not data)

    rss_start = _rss_mb()
    started = time.perf_counter()
    result = summarise_week(
        dynamodb=dynamodb,
        s3=s3,
        table=TABLE,
        bucket=BUCKET,
        prefix="summaries/",
        dataset=dataset,
        week=parse_week(WEEK),
        tz=zone(ZONE),
        tuning=Tuning(workdir=workdir),
    )
    return {
        "seconds": time.perf_counter() - started,
        "rss_start_mb": rss_start,
        "items_read": result.stats.items_read,
        "requests": result.stats.queries,
        "consumed_capacity": result.stats.consumed_capacity,
        "total": result.document["total"],
        "per_day": result.document["per_day"],
        "per_producer": result.document["per_producer"],
        "parts": len(result.document["parts"]),
    }


def run_scan(endpoint: str, workdir: str) -> dict[str, Any]:
    """The sample's design: every item of the table in memory, then filter and count."""
    from boto3.dynamodb.types import TypeDeserializer

    from headwater.records import keys
    from headwater.records.weeks import parse_week, zone
    from tests.support.emulator import make_client

    dynamodb = make_client("dynamodb", endpoint)
    deserializer = TypeDeserializer()
    rss_start = _rss_mb()
    started = time.perf_counter()
    everything: list[dict[str, Any]] = []
    requests = items_read = 0
    capacity = 0.0
    for page in dynamodb.get_paginator("scan").paginate(
        TableName=TABLE, ReturnConsumedCapacity="TOTAL"
    ):
        requests += 1
        items_read += page.get("ScannedCount", 0)
        capacity += page.get("ConsumedCapacity", {}).get("CapacityUnits", 0)
        everything.extend(
            {k: deserializer.deserialize(v) for k, v in item.items()} for item in page["Items"]
        )
    tz = zone(ZONE)
    start, end = parse_week(WEEK).bounds(tz)
    per_day = Counter({d.isoformat(): 0 for d in parse_week(WEEK).days()})
    per_producer: Counter[str] = Counter()
    for item in everything:
        at = keys.id_time(item["id"])
        if item["dataset"] == DATASET and start <= at < end:
            per_day[at.astimezone(tz).date().isoformat()] += 1
            per_producer[item["producer"]] += 1
    return {
        "seconds": time.perf_counter() - started,
        "rss_start_mb": rss_start,
        "items_read": items_read,
        "requests": requests,
        "consumed_capacity": capacity,
        "total": sum(per_day.values()),
        "per_day": dict(sorted(per_day.items())),
        "per_producer": dict(sorted(per_producer.items())),
        "parts": 0,
    }


RUNNERS = {"summary": run_summary, "scan": run_scan}


def child(args: argparse.Namespace) -> None:
    result = RUNNERS[args.child](args.endpoint, args.work_dir)
    result["case"] = args.child
    result["peak_rss_mb"] = _peak_rss_mb()
    print(json.dumps(result))


# --- parent -------------------------------------------------------------------------------------


def run_case(case: str, endpoint: str, work: str) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.records_summary_bench", "--child", case]
    command += ["--endpoint", endpoint, "--work-dir", work]
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT, env=env)
    if done.returncode != 0:
        raise SystemExit(f"case {case} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def markdown_table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| records | week's | case | items read | x scan | modelled RCU | moto capacity "
        "| requests | peak RSS MB | RSS growth MB | x scan | seconds |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        base = next(
            (b for b in results if b["case"] == BASELINE and b["records"] == r["records"]), None
        )
        growth = r["rss_growth_mb"]
        read_ratio = f"{r['items_read'] / max(base['items_read'], 1):.3f}" if base else "-"
        rss_ratio = f"{growth / max(base['rss_growth_mb'], 1):.2f}" if base else "-"
        lines.append(
            f"| {r['records']:,} | {r['week_records']:,} | {r['case']} | {r['items_read']:,} | "
            f"{read_ratio} | {r['modelled_rcu']:,.1f} | {r['consumed_capacity']:,.1f} | "
            f"{r['requests']:,} | {r['peak_rss_mb']:.0f} | {growth:.0f} | {rss_ratio} | "
            f"{r['seconds']:.1f} |"
        )
    return "\n".join(lines)


def parent(args: argparse.Namespace) -> int:
    from tests.support.emulator import running_emulator

    sizes = sorted({int(s) for s in args.sizes.split(",")})
    rng = random.Random(48)
    results: list[dict[str, Any]] = []
    problems: list[str] = []
    work = tempfile.mkdtemp(prefix="hw-bench-records-", dir=args.work_dir)
    # The emulator in a process of its own: the table's memory is neither this process's nor
    # the cases' (children forked from here), and moto does not compete with seeding for a GIL.
    with running_emulator(own_process=True) as emulator:
        endpoint = f"http://127.0.0.1:{emulator.port}"
        create(endpoint)
        stored = week_records = 0
        stored_bytes = 0.0
        for size in sizes:
            started = time.perf_counter()
            added, added_bytes = seed(endpoint, size - stored, rng)
            week_records, stored_bytes, stored = (
                week_records + added,
                stored_bytes + added_bytes,
                size,
            )
            print(
                f"table at {size:,} records ({week_records:,} in the week), "
                f"seeded in {time.perf_counter() - started:.0f}s",
                file=sys.stderr,
            )
            counted = {}
            # moto's Scan walks the table from its start on every page (quadratic in the table):
            # past --scan-up-to the baseline would take hours, and it reads every item anyway.
            for case in [c for c in CASES if c != BASELINE or size <= args.scan_up_to]:
                print(f"  running {case} ...", file=sys.stderr)
                r = run_case(case, endpoint, work)
                r.update(records=size, week_records=week_records)
                r["rss_growth_mb"] = r["peak_rss_mb"] - r["rss_start_mb"]
                # moto reports a flat 1.0 unit per request: also the units DynamoDB would bill,
                # eventually consistent reads at 0.5 per 4 KB of items read (projections do not
                # reduce it; the per-request 4 KB rounding is left out).
                r["modelled_rcu"] = r["items_read"] * (stored_bytes / size) / 4096 * 0.5
                counted[case] = (r.pop("total"), r.pop("per_day"), r.pop("per_producer"))
                results.append(r)
                if counted[case][0] != week_records:
                    problems.append(f"{case} at {size}: counted {counted[case][0]}")
            if BASELINE in counted and counted["summary"] != counted[BASELINE]:
                problems.append(f"summary and scan disagree at {size}")
            summary = next(r for r in results if r["case"] == "summary" and r["records"] == size)
            if summary["items_read"] != week_records:
                problems.append(f"summary read {summary['items_read']} items at {size}")
            # Each size's rows as soon as they exist: a long run shows its progress.
            print(markdown_table([r for r in results if r["records"] == size]), file=sys.stderr)
    os.rmdir(work)

    print(f"\nWeek {WEEK} ({ZONE}), dataset {DATASET}; baseline: full Scan into memory\n")
    print(markdown_table(results))
    report = {
        "machine": machine(),
        "at": now(),
        "input": {"sizes": sizes, "week": WEEK, "time_zone": ZONE, "scan_up_to": args.scan_up_to},
        "results": results,
    }
    write_report(report, args.results_dir, f"records-summary-{sizes[-1]}")
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default="100000,300000", help="table sizes, comma-separated (default 100k,300k)"
    )
    parser.add_argument(
        "--scan-up-to",
        type=int,
        default=100_000,
        help="run the Scan baseline only at sizes up to this (moto's Scan is quadratic)",
    )
    parser.add_argument("--results-dir", default=str(RESULTS_DIR))
    parser.add_argument("--work-dir", default=None, help="where part files are staged")
    parser.add_argument("--child", choices=CASES, help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return 0
    return parent(args)


if __name__ == "__main__":
    sys.exit(main())
