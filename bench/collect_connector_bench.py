"""The Meta insights connector against the loopback fake with a rate limit: pages per second and
throttled requests, against a naive client without backoff, in the same process.

    uv run python -m bench.collect_connector_bench --pages 60 --limit 10 --window-seconds 1

Starts ``tests/support/fake_meta.FakeMeta`` (real clock) once per case, with ``--limit`` accepted
calls per ``--window-seconds`` window for the account, and an account holding exactly
``--pages`` pages of rows (10 campaigns a day, 10 rows a page, one day a page). Cases, same
process, same data:

- connector: ``MetaInsightsConnector.fetch`` with its defaults except the wait budget: it pauses
  before the next page when the usage headers reach 90% (for ``reset_time_duration``), and backs
  off on a throttle for at least Meta's hint;
- naive (baseline): the same requests with urllib3 and the same cursors, retrying a failed page
  at once, as a client without backoff does (bounded at 1,000 requests a page).

Prints a Markdown table (pages/s, ratio to the naive client, requests, throttled requests, the
share of requests throttled) and writes JSON to bench/results/. Never asserts a timing; exits 1
if a case did not collect every row, or if the connector was throttled more than the naive client.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

import urllib3

from bench.common import RESULTS_DIR, machine, now, write_report
from headwater.collect.connectors.meta import FIELDS, Backoff, MetaInsightsConnector
from headwater.collect.windows import Window
from tests.support.fake_meta import TOKEN, FakeAccount, FakeMeta

ACCOUNT = "4242424242"
CAMPAIGNS = PAGE_SIZE = 10  # one day of rows per page
START = date(2026, 1, 1)
BASELINE = "naive"
NAIVE_MAX_REQUESTS_PER_PAGE = 1_000


def run_connector(fake: FakeMeta, window: Window) -> int:
    meta = MetaInsightsConnector(base_url=fake.base_url, backoff=Backoff(max_wait_seconds=3600))
    return sum(1 for _ in meta.fetch(ACCOUNT, window, {"page_size": PAGE_SIZE}, {"token": TOKEN}))


def run_naive(fake: FakeMeta, window: Window) -> int:
    http = urllib3.PoolManager()
    query = {
        "level": "campaign",
        "time_increment": "1",
        "time_range": json.dumps(
            {"since": window.start.isoformat(), "until": (window.end - timedelta(1)).isoformat()}
        ),
        "fields": ",".join(FIELDS),
        "limit": str(PAGE_SIZE),
    }
    rows = 0
    while True:
        for _ in range(NAIVE_MAX_REQUESTS_PER_PAGE):
            response = http.request(
                "GET",
                f"{fake.base_url}/act_{ACCOUNT}/insights?{urlencode(query)}",
                headers={"Authorization": f"Bearer {TOKEN}"},
                retries=False,
            )
            if response.status == 200:
                break
        else:
            raise RuntimeError("the naive client gave up on a page")
        body = json.loads(response.data)
        rows += len(body["data"])
        if "next" not in body["paging"]:
            return rows
        query["after"] = body["paging"]["cursors"]["after"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=60, help="pages to collect (default 60)")
    parser.add_argument("--limit", type=int, default=10, help="calls per window (default 10)")
    parser.add_argument("--window-seconds", type=float, default=1.0, help="(default 1)")
    parser.add_argument("--results-dir", default=str(RESULTS_DIR))
    args = parser.parse_args(argv)

    window = Window(START, START + timedelta(days=args.pages))
    expected_rows = args.pages * CAMPAIGNS
    results: list[dict[str, Any]] = []
    for name, run in (("connector", run_connector), (BASELINE, run_naive)):
        accounts = {ACCOUNT: FakeAccount("USD", CAMPAIGNS)}
        with FakeMeta(
            accounts=accounts, limit=args.limit, window_seconds=args.window_seconds
        ) as fake:
            # Start on a fresh window, so both cases begin with the whole quota.
            time.sleep(args.window_seconds - time.monotonic() % args.window_seconds)
            started = time.perf_counter()
            rows = run(fake, window)
            seconds = time.perf_counter() - started
        results.append(
            {
                "case": name,
                "rows": rows,
                "pages": fake.pages,
                "requests": fake.requests,
                "throttled": fake.throttled,
                "seconds": seconds,
                "pages_per_s": fake.pages / seconds,
                "requests_per_s": fake.requests / seconds,
            }
        )

    base = next(r for r in results if r["case"] == BASELINE)
    limit_rate = args.limit / args.window_seconds
    print(
        f"\n{args.pages} pages of {PAGE_SIZE} rows; rate limit {args.limit} calls per "
        f"{args.window_seconds:g} s ({limit_rate:g} calls/s)\n"
    )
    print("| case | seconds | pages/s | x naive pages/s | requests | throttled | throttled share |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['case']} | {r['seconds']:.2f} | {r['pages_per_s']:.2f} | "
            f"{r['pages_per_s'] / base['pages_per_s']:.2f} | {r['requests']} | "
            f"{r['throttled']} | {r['throttled'] / r['requests']:.1%} |"
        )
    report = {
        "machine": machine(),
        "at": now(),
        "pages": args.pages,
        "page_size": PAGE_SIZE,
        "limit": args.limit,
        "window_seconds": args.window_seconds,
        "results": results,
    }
    write_report(report, args.results_dir, f"collect-connector-{args.pages}")
    wrong = [r["case"] for r in results if r["rows"] != expected_rows or r["pages"] != args.pages]
    if wrong:
        print(f"cases that did not collect every row: {wrong}", file=sys.stderr)
        return 1
    connector = next(r for r in results if r["case"] == "connector")
    if connector["throttled"] > base["throttled"]:
        print("the connector was throttled more than the naive client", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
