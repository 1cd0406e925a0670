"""Benchmark the lookup loader against the seed design (one PutItem per key) on the emulator.

    uv run python -m bench.lookup_bench --rows 100000 --keys 5000

Generates a deterministic ``employees`` CSV (rows spread evenly over the partition keys), starts
the patched emulator in this process on a free loopback port, uploads the file to a bucket, then
runs, in the same session:

- loader:      ``headwater.lookup.loader.load_lookup`` into a fresh table (BatchWriteItem of data
               items and key-index items, pointer switch, manifest)
- put_item:    the seed design's baseline into another fresh table: the same parse and the same
               items, one PutItem per partition key, no batching, no index, no pointer
- replacement: ``load_lookup`` of the same file again into the loader's table: a new version is
               written, the pointer switched and the old version retired (TTL stamp, then delete)

Every DynamoDB request is counted with a botocore ``before-send`` hook (retries included). After
each case the table is scanned (outside the timing) and the members stored are counted, so the
run fails if any case stored a different number of rows than the file holds.

Prints a Markdown table with ratios to the baseline and writes JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import RESULTS_DIR, machine, now, write_report
from tests.support.emulator import make_client, running_emulator
from tests.support.lookup import create_lookup_table, generate_employees_csv

BUCKET = "hw-bench-raw"
DATASET = "employees"
CASES = ("loader", "put_item", "replacement")
BASELINE = "put_item"

# ---- shared with api_bench.py ------------------------------------------------------------------


def upload(s3: Any, path: Path, key: str) -> None:
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket=BUCKET)
    s3.upload_file(str(path), BUCKET, key)


def load_with_headwater(s3: Any, dynamodb: Any, table: str, key: str) -> dict[str, Any]:
    """One load_lookup of s3://BUCKET/key into ``table``; the manifest (raises on failure)."""
    from headwater.lookup.contracts import load_lookups
    from headwater.lookup.loader import SUCCEEDED, Source, load_lookup
    from headwater.lookup.store import LookupStore

    outcome = load_lookup(
        s3=s3,
        store=LookupStore(table, dynamodb),
        source=Source(BUCKET, key),
        lookups=load_lookups(),
    )
    if outcome.status != SUCCEEDED:
        raise SystemExit(f"load_lookup failed: {outcome.manifest.get('error')}")
    return outcome.manifest


# ---- request counting ----------------------------------------------------------------------------


class RequestCounter:
    """Counts DynamoDB HTTP requests by operation (``before-send`` fires once per attempt)."""

    def __init__(self, client: Any) -> None:
        self.by_operation: collections.Counter[str] = collections.Counter()
        client.meta.events.register("before-send.dynamodb.*", self._count)

    def _count(self, event_name: str, **kwargs: Any) -> None:
        self.by_operation[event_name.rsplit(".", 1)[-1]] += 1

    def reset(self) -> None:
        self.by_operation.clear()

    @property
    def total(self) -> int:
        return sum(self.by_operation.values())


# ---- cases ---------------------------------------------------------------------------------------


def load_put_item_per_key(s3: Any, dynamodb: Any, table: str, key: str) -> dict[str, Any]:
    """The seed design: the same parse and items, written with one PutItem per partition key."""
    from headwater.lookup.contracts import load_lookups
    from headwater.lookup.loader import new_version, parse_csv
    from headwater.lookup.store import data_pk, part_sk, split_members

    lookup = load_lookups()[DATASET]
    parsed = parse_csv(s3.get_object(Bucket=BUCKET, Key=key)["Body"], lookup)
    version = new_version(dt.datetime.now(dt.UTC))
    for partition, members in parsed.partitions.items():
        parts = split_members(members)
        for number, part in enumerate(parts):  # one part per key unless a key is huge
            dynamodb.put_item(
                TableName=table,
                Item={
                    "pk": {"S": data_pk(DATASET, version, partition)},
                    "sk": {"S": part_sk(number)},
                    "members": {"M": part},
                    "parts": {"N": str(len(parts))},
                },
            )
    return {"rows": parsed.rows, "keys_written": len(parsed.partitions), "version": version}


def stored_rows(dynamodb: Any, table: str) -> tuple[int, int, int]:
    """(members in data items, data items, all items) of ``table``, by a full scan."""
    members = data_items = items = 0
    for page in dynamodb.get_paginator("scan").paginate(TableName=table):
        for item in page.get("Items", []):
            items += 1
            if item["sk"]["S"].startswith("part#"):
                data_items += 1
                members += len(item["members"]["M"])
    return members, data_items, items


def measure(name: str, counter: RequestCounter, run) -> dict[str, Any]:
    counter.reset()
    started = time.perf_counter()
    manifest = run()
    seconds = time.perf_counter() - started
    keys = manifest["keys_written"]
    return {
        "case": name,
        "seconds": seconds,
        "rows": manifest["rows"],
        "keys": keys,
        "dynamodb_requests": counter.total,
        "requests_by_operation": dict(sorted(counter.by_operation.items())),
        "requests_per_item": counter.total / keys,
        "items_per_s": keys / seconds,
        "rows_per_s": manifest["rows"] / seconds,
        "keys_deleted": manifest.get("keys_deleted", 0),
    }


def run_cases(csv_path: Path, cases: list[str]) -> list[dict[str, Any]]:
    results = []
    with running_emulator() as emulator:
        endpoint = emulator.endpoint_url
        s3 = make_client("s3", endpoint)
        dynamodb = make_client("dynamodb", endpoint)
        counter = RequestCounter(dynamodb)
        key = f"lookup/{DATASET}/{csv_path.name}"
        upload(s3, csv_path, key)
        tables = {"loader": "hw-bench-loader", "put_item": "hw-bench-put-item"}
        for table in tables.values():
            create_lookup_table(dynamodb, table)
        runs = {
            "loader": lambda: load_with_headwater(s3, dynamodb, tables["loader"], key),
            "put_item": lambda: load_put_item_per_key(s3, dynamodb, tables["put_item"], key),
            "replacement": lambda: load_with_headwater(s3, dynamodb, tables["loader"], key),
        }
        for case in cases:
            if case == "replacement" and "loader" not in cases:
                runs["loader"]()  # the replacement needs a version to replace (not measured)
            print(f"running {case} ...", file=sys.stderr)
            result = measure(case, counter, runs[case])
            table = tables["put_item" if case == "put_item" else "loader"]
            members, data_items, items = stored_rows(dynamodb, table)
            result.update(rows_stored=members, data_items=data_items, table_items=items)
            results.append(result)
    return results


def markdown_table(results: list[dict[str, Any]], baseline: dict[str, Any] | None) -> str:
    lines = [
        "| case | seconds | items/s | rows/s | x put_item items/s | DynamoDB requests "
        "| requests/item | rows stored |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        ratio = f"{r['items_per_s'] / baseline['items_per_s']:.2f}" if baseline else "-"
        lines.append(
            f"| {r['case']} | {r['seconds']:.1f} | {r['items_per_s']:,.0f} | "
            f"{r['rows_per_s']:,.0f} | {ratio} | {r['dynamodb_requests']:,} | "
            f"{r['requests_per_item']:.3f} | {r['rows_stored']:,} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--keys", type=int, default=5_000)
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES))
    parser.add_argument("--work-dir", default=None, help="where the CSV goes")
    parser.add_argument("--results-dir", default=str(RESULTS_DIR))
    args = parser.parse_args(argv)
    if not 1 <= args.keys <= args.rows:
        parser.error("--keys must be between 1 and --rows")

    with tempfile.TemporaryDirectory(prefix="hw-lookup-bench-", dir=args.work_dir) as work:
        csv_path = Path(work) / "employees.csv"
        expected_rows = generate_employees_csv(csv_path, args.rows, args.keys)
        size_mb = csv_path.stat().st_size / 2**20
        print(f"generated {expected_rows:,} rows in {args.keys:,} keys", file=sys.stderr)
        results = run_cases(csv_path, args.cases)

    baseline = next((r for r in results if r["case"] == BASELINE), None)
    for r in results:
        r["items_per_s_vs_put_item"] = (
            r["items_per_s"] / baseline["items_per_s"] if baseline else None
        )
    print(
        f"\nInput: {expected_rows:,} rows in {args.keys:,} keys ({size_mb:.1f} MB CSV); "
        f"items = partition keys\n"
    )
    print(markdown_table(results, baseline))
    for r in results:
        operations = ", ".join(f"{op} {n:,}" for op, n in r["requests_by_operation"].items())
        print(f"\n{r['case']}: {operations}", end="")
    print()
    report = {
        "when": now(),
        "machine": machine(),
        "input": {"rows": expected_rows, "keys": args.keys, "size_mb": size_mb},
        "baseline": BASELINE,
        "results": results,
    }
    out = write_report(report, args.results_dir, f"lookup-{args.rows}r-{args.keys}k")
    print(f"\nresults: {out}", file=sys.stderr)
    wrong = [
        r["case"]
        for r in results
        if r["rows"] != expected_rows or r["rows_stored"] != expected_rows
    ]
    if wrong:
        print(f"rows loaded differ from rows generated in: {', '.join(wrong)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
