"""Benchmark the summary's window mode against the manifest mode's per-file lookups.

    uv run python -m bench.summary_bench --files 2000

Starts the patched emulator in this process on a free loopback port, uploads ``--files`` raw
versions, writes each one's curated output (a few bytes, named as the processor names it) and
quarantines every tenth (report plus delete marker), then accounts for them twice, in the same
session:

- window:   ``headwater.ingest.audit.Audit`` over the prefix and the last hour (listings: the
            raw versions, the curated partitions of the day; one report GET per version not
            curated)
- manifest: the baseline, ``headwater.ingest.summary.Ledger`` with a manifest of the same files
            (per file: a report GET, then a HEAD of the curated output for its row count)

S3 requests are counted with a botocore ``before-send.s3`` hook. The run exits 1 unless both
account for every file. Prints a Markdown table with ratios to the baseline and writes JSON to
bench/results/.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import sys
import time
from typing import Any

from bench.common import RESULTS_DIR, machine, now, write_report
from tests.support.emulator import make_client, running_emulator

RAW, CURATED, QUARANTINE = "hw-bench-sum-raw", "hw-bench-sum-curated", "hw-bench-sum-quarantine"
PREFIX = "ingest/sales/bench/"
BASELINE = "manifest"


def seed(s3: Any, files: int) -> list[dict[str, Any]]:
    """Upload ``files`` versions and place each one's outcome; the feed-like manifest entries."""
    import json

    from headwater.ingest.naming import curated_name, quarantine_keys

    for bucket in (RAW, CURATED, QUARANTINE):
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=RAW, VersioningConfiguration={"Status": "Enabled"})
    day = dt.datetime.now(dt.UTC).date().isoformat()
    entries = []
    for i in range(files):
        key = f"{PREFIX}{i:06d}.csv"
        put = s3.put_object(Bucket=RAW, Key=key, Body=b"a\n1\n")
        version = put["VersionId"]
        if i % 10 == 9:
            _, report_key = quarantine_keys(key, version, None)
            report = {"rule": "malformed", "source": {"key": key, "version_id": version}}
            s3.put_object(Bucket=QUARANTINE, Key=report_key, Body=json.dumps(report).encode())
            s3.delete_object(Bucket=RAW, Key=key)
            entries.append({"key": key, "outcome": "quarantined", "rule": "malformed"})
        else:
            name = curated_name(key, version, put["ETag"])
            s3.put_object(
                Bucket=CURATED,
                Key=f"sales/ingest_date={day}/{name}",
                Body=b"PAR1",
                Metadata={"rows": "1"},
            )
            entries.append({"key": key, "outcome": "curated", "rows": 1})
        entries[-1]["version_id"] = version
    return entries


def run_window(s3: Any, sqs: Any, dlq: str) -> dict[str, int]:
    from headwater.ingest import audit

    moment = dt.datetime.now(dt.UTC)
    window = audit.Window(PREFIX, moment - dt.timedelta(hours=1), moment + dt.timedelta(minutes=1))
    ledger = audit.Audit(RAW, CURATED, QUARANTINE, (dlq,), window)
    ledger.run(s3, sqs)
    return {
        "curated": ledger.counts[audit.CURATED],
        "quarantined": ledger.counts[audit.QUARANTINED],
    }


def run_manifest(s3: Any, sqs: Any, dlq: str, entries: list[dict[str, Any]]) -> dict[str, int]:
    from headwater.ingest.summary import CURATED as DONE
    from headwater.ingest.summary import QUARANTINED as BAD
    from headwater.ingest.summary import Ledger, Places

    ledger = Ledger.from_manifest({"files": entries}, Places(RAW, CURATED, QUARANTINE, dlq))
    ledger.refresh(s3, sqs)
    states = collections.Counter(f.state for f in ledger.files)
    return {"curated": states[DONE], "quarantined": states[BAD]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000, help="raw versions (default 2000)")
    parser.add_argument("--results-dir", default=str(RESULTS_DIR))
    args = parser.parse_args(argv)

    with running_emulator() as emulator:
        endpoint = f"http://127.0.0.1:{emulator.port}"
        s3, sqs = make_client("s3", endpoint), make_client("sqs", endpoint)
        entries = seed(s3, args.files)
        dlq = sqs.create_queue(QueueName="hw-bench-sum-dlq")["QueueUrl"]
        requests: collections.Counter[str] = collections.Counter()
        s3.meta.events.register(
            "before-send.s3", lambda request, **_: requests.update([request.context["case"]])
        )
        case = {"name": ""}
        s3.meta.events.register(
            "before-call.s3", lambda context, **_: context.update(case=case["name"])
        )
        expected = {
            "curated": sum(e["outcome"] == "curated" for e in entries),
            "quarantined": sum(e["outcome"] == "quarantined" for e in entries),
        }
        results = []
        for name, run in (
            ("window", lambda: run_window(s3, sqs, dlq)),
            (BASELINE, lambda: run_manifest(s3, sqs, dlq, entries)),
        ):
            case["name"] = name
            started = time.perf_counter()
            found = run()
            seconds = time.perf_counter() - started
            results.append(
                {"case": name, "seconds": seconds, "requests": requests[name], "found": found}
            )

    base = next(r for r in results if r["case"] == BASELINE)
    print(f"\n{args.files} raw versions ({expected['quarantined']} quarantined)\n")
    print("| case | seconds | x manifest speed | S3 requests | requests/file |")
    print("|---|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['case']} | {r['seconds']:.2f} | {base['seconds'] / r['seconds']:.1f} | "
            f"{r['requests']} | {r['requests'] / args.files:.3f} |"
        )
    report = {"machine": machine(), "at": now(), "files": args.files, "results": results}
    write_report(report, args.results_dir, f"summary-{args.files}")
    wrong = [r["case"] for r in results if r["found"] != expected]
    if wrong:
        print(f"cases that did not account for every file: {wrong}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
