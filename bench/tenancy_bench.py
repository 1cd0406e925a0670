"""What the tenancy check costs the lookup API per request, against the same handler without it.

    uv run python -m bench.tenancy_bench --requests 2000

Starts the patched emulator in this process, loads a small ``employees`` dataset, writes the
tenancy directory as modules/api_stage does (a subscriber granted ``employees``, its key), and
calls ``headwater.handlers.lookup_api.handler`` in this process, one request at a time, with
API Gateway proxy events for the keys in turn. Every answer must be a 200. Cases, same process,
same events:

- no_tenancy (baseline): the handler with the caller fixed (no directory at all): the cost of
  the lookup itself;
- cached:   the real directory with its TTL cache (60 s): the hot path of a warm function;
- uncached: the real directory with TTL 0: two GetItem calls to the emulator per request (what
  every request would cost without the cache).

Prints a Markdown table (p50/p90 ms, ratio to the baseline, directory reads) and writes JSON to
bench/results/. Never asserts a timing; exits 1 if any answer was not a 200.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.api_bench import stdout_to
from bench.common import RESULTS_DIR, machine, now, percentile, write_report
from bench.lookup_bench import DATASET, load_with_headwater, upload
from tests.support.emulator import make_client, running_emulator, use_emulator_environment
from tests.support.lambda_context import LambdaContext
from tests.support.lookup import api_event, create_lookup_table, department, generate_employees_csv
from tests.support.tenancy import create_tenancy_table, put_key, put_subscriber

TABLE, TENANCY_TABLE = "hw-bench-tenancy-lookup", "hw-bench-tenancy"
KEY_ID, SUBSCRIBER = "bench-key-id", "bench"
CASES = ("no_tenancy", "cached", "uncached")
BASE_CASE = "no_tenancy"


class Counting:
    """The directory's DynamoDB client, counting its GetItem calls."""

    def __init__(self, client: Any) -> None:
        self.client, self.calls = client, 0

    def get_item(self, **kwargs: Any) -> Any:
        self.calls += 1
        return self.client.get_item(**kwargs)


def run_cases(
    cases: list[str], keys: list[str], requests: int, endpoint: str
) -> list[dict[str, Any]]:
    """``requests`` requests per case, the cases interleaved request by request, so a noisy
    neighbour (2 shared cores) slows every case alike."""
    from headwater.handlers import lookup_api
    from headwater.handlers.support import tenancy as request_tenancy
    from headwater.tenancy import Caller, Directory

    fixed = Caller(SUBSCRIBER, False, frozenset({DATASET}), KEY_ID)
    counters = {case: Counting(make_client("dynamodb", endpoint)) for case in cases}
    directories = {
        case: Directory(counters[case], TENANCY_TABLE, ttl=60.0 if case == "cached" else 0.0)
        for case in cases
    }
    callers = {
        case: (lambda _event: fixed)
        if case == "no_tenancy"
        else (lambda event, d=directories[case]: d.caller(request_tenancy.key_id(event)))
        for case in cases
    }
    events = []
    for key in keys:
        event = api_event({"dataset": DATASET, "key": key}, "/lookups/{dataset}/{key}")
        event["requestContext"]["identity"]["apiKeyId"] = KEY_ID
        events.append(event)
    context = LambdaContext(function_name="hw-bench-lookup-api")
    timings: dict[str, list[float]] = {case: [] for case in cases}
    ok = dict.fromkeys(cases, 0)
    original = request_tenancy.caller
    try:
        for i in range(requests):
            for case in cases:
                request_tenancy.caller = callers[case]
                started = time.perf_counter()
                response = lookup_api.handler(events[i % len(events)], context)
                timings[case].append((time.perf_counter() - started) * 1000)
                body = json.loads(response["body"])
                ok[case] += response["statusCode"] == 200 and body["key"] == keys[i % len(keys)]
    finally:
        request_tenancy.caller = original
    results = []
    for case in cases:
        ordered = sorted(timings[case])
        results.append(
            {
                "case": case,
                "requests": requests,
                "ok": ok[case],
                "p50_ms": percentile(ordered, 0.5),
                "p90_ms": percentile(ordered, 0.9),
                "directory_reads": counters[case].calls,
            }
        )
    return results


def run(args: argparse.Namespace, work: Path) -> list[dict[str, Any]]:
    csv_path = work / "employees.csv"
    generate_employees_csv(csv_path, args.rows, args.keys)
    keys = [department(i) for i in range(args.keys)]
    # Powertools logs one JSON line per request to stdout: to a file, not the table.
    with running_emulator() as emulator, stdout_to(work / "lambda-stdout.log"):
        endpoint = emulator.endpoint_url
        use_emulator_environment(endpoint)
        os.environ.update(
            LOOKUP_TABLE=TABLE, TENANCY_TABLE=TENANCY_TABLE, POWERTOOLS_SERVICE_NAME="lookup-api"
        )
        s3, dynamodb = make_client("s3", endpoint), make_client("dynamodb", endpoint)
        create_lookup_table(dynamodb, TABLE)
        create_tenancy_table(dynamodb, TENANCY_TABLE)
        put_subscriber(dynamodb, TENANCY_TABLE, SUBSCRIBER, datasets=(DATASET,))
        put_key(dynamodb, TENANCY_TABLE, KEY_ID, SUBSCRIBER)
        upload(s3, csv_path, f"lookup/{DATASET}/{csv_path.name}")
        load_with_headwater(s3, dynamodb, TABLE, f"lookup/{DATASET}/{csv_path.name}")
        # Warm-up (not measured): imports, clients, the resolver.
        run_cases(list(CASES), keys, min(20, args.requests), endpoint)
        print(f"running {', '.join(args.cases)} ({args.requests} each) ...", file=sys.stderr)
        return run_cases(args.cases, keys, args.requests, endpoint)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="per case")
    parser.add_argument("--rows", type=int, default=2000, help="dataset rows")
    parser.add_argument("--keys", type=int, default=100, help="dataset partition keys")
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES))
    parser.add_argument("--work-dir", default=None)
    parser.add_argument("--results-dir", default=str(RESULTS_DIR))
    args = parser.parse_args(argv)
    if not (1 <= args.keys <= args.rows and args.requests >= 1):
        parser.error("need 1 <= keys <= rows and requests >= 1")
    with tempfile.TemporaryDirectory(prefix="hw-tenancy-bench-", dir=args.work_dir) as work:
        results = run(args, Path(work))
    base = next((r for r in results if r["case"] == BASE_CASE), None)
    lines = [
        "| case | requests | ok | p50 ms | p90 ms | p50 x no_tenancy | directory reads |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        r["p50_vs_base"] = r["p50_ms"] / base["p50_ms"] if base else None
        ratio = f"{r['p50_vs_base']:.2f}" if base else "-"
        lines.append(
            f"| {r['case']} | {r['requests']:,} | {r['ok']:,} | {r['p50_ms']:.2f} | "
            f"{r['p90_ms']:.2f} | {ratio} | {r['directory_reads']:,} |"
        )
    print("\n".join(lines))
    report = {"when": now(), "machine": machine(), "base_case": BASE_CASE, "results": results}
    out = write_report(report, args.results_dir, f"tenancy-{args.requests}req")
    print(f"\nresults: {out}", file=sys.stderr)
    return 0 if all(r["ok"] == r["requests"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
