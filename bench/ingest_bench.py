"""Benchmark the ingest processor's conversion path against whole-file baselines.

    uv run python -m bench.ingest_bench --size-mb 1024

Generates a deterministic CSV for the ``sales`` contract, then runs each case in its own
subprocess (so each peak RSS is its own, reported by the child from ru_maxrss):

- processor: headwater's streaming convert_to_parquet, validation included (local file in/out)
- pandas:    pandas.read_csv + DataFrame.to_parquet on the whole file
- pyarrow:   pyarrow.csv.read_csv + pyarrow.parquet.write_table on the whole file
- duckdb:    COPY (SELECT * FROM read_csv(...)) TO ... (FORMAT parquet)

Prints a Markdown table with ratios to the fastest baseline and writes JSON to bench/results/.
Targets: processor peak RSS < 512 MB for 1 GB, throughput >= 0.8x the fastest baseline.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import RESULTS_DIR, machine, now, write_report
from tests.support.paths import ROOT

CASES = ("processor", "pandas", "pyarrow", "duckdb")
BASELINES = ("pandas", "pyarrow", "duckdb")
RSS_TARGET_MB = 512
THROUGHPUT_TARGET = 0.8
HEADER = "order_id,order_date,customer_id,sku,quantity,unit_price,currency,coupon\n"


def generate_csv(path: Path, size_bytes: int) -> int:
    """Write a deterministic sales CSV of at least ``size_bytes``; return the data row count."""
    currencies = ("EUR", "USD", "GBP", "SEK")
    coupons = ("", "", "", "SPRING10", "VIP")
    rows = 0
    written = 0
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write(HEADER)
        written += len(HEADER)
        while written < size_bytes:
            chunk = []
            for i in range(rows + 1, rows + 20_001):
                chunk.append(
                    f"{i},2026-{1 + i % 12:02d}-{1 + i % 28:02d},C{(i * 7919) % 1_000_003:07d},"
                    f"SKU-{(i * 31) % 5000:05d},{1 + i % 9},{(i * 37) % 100_000 / 100:.2f},"
                    f"{currencies[i % 4]},{coupons[i % 5]}\n"
                )
            text = "".join(chunk)
            out.write(text)
            written += len(text)  # ASCII: characters == bytes
            rows += len(chunk)
    return rows


# --- cases: each runs in a child process -------------------------------------------------


def run_processor(src: Path, dst: Path, args: argparse.Namespace) -> None:
    from headwater.ingest.contracts import load_contracts
    from headwater.ingest.convert import Tuning, convert_to_parquet

    sales = next(c for c in load_contracts() if c.dataset == "sales")
    tuning = Tuning(
        block_size=args.block_size,
        use_threads=not args.no_threads,
        row_group_rows=args.row_group_rows,
        compression=args.compression,
    )

    def open_source():
        # Unbuffered: the CheckedStream and Arrow do their own block-sized reads.
        return open(src, "rb", buffering=0)

    convert_to_parquet(open_source, sales, dst, tuning, temp_dir=str(dst.parent))


def run_pandas(src: Path, dst: Path, args: argparse.Namespace) -> None:
    import pandas as pd

    pd.read_csv(src).to_parquet(dst, index=False)


def run_pyarrow(src: Path, dst: Path, args: argparse.Namespace) -> None:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    pq.write_table(pacsv.read_csv(src), dst)


def run_duckdb(src: Path, dst: Path, args: argparse.Namespace) -> None:
    import duckdb

    source = str(src).replace("'", "''")
    target = str(dst).replace("'", "''")
    duckdb.sql(f"COPY (SELECT * FROM read_csv('{source}')) TO '{target}' (FORMAT parquet)")


RUNNERS = {
    "processor": run_processor,
    "pandas": run_pandas,
    "pyarrow": run_pyarrow,
    "duckdb": run_duckdb,
}


def child(args: argparse.Namespace) -> None:
    src, dst = Path(args.input), Path(args.output)
    started = time.perf_counter()
    RUNNERS[args.case](src, dst, args)
    seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({"case": args.case, "seconds": seconds, "peak_rss_mb": peak_kb / 1024}))


# --- parent -----------------------------------------------------------------------------------


def run_case(case: str, src: Path, work: Path, args: argparse.Namespace) -> dict:
    import pyarrow.parquet as pq

    dst = work / f"{case}.parquet"
    command = [
        sys.executable,
        "-m",
        "bench.ingest_bench",
        "--child",
        case,
        "--input",
        str(src),
        "--output",
        str(dst),
        "--block-size",
        str(args.block_size),
        "--row-group-rows",
        str(args.row_group_rows),
        "--compression",
        args.compression,
    ]
    if args.no_threads:
        command.append("--no-threads")
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"case {case} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    size_mb = src.stat().st_size / 2**20
    result["rows"] = pq.ParquetFile(dst).metadata.num_rows
    result["mb_per_s"] = size_mb / result["seconds"]
    result["output_mb"] = dst.stat().st_size / 2**20
    dst.unlink()
    return result


def markdown_table(results: list[dict], fastest: dict) -> str:
    lines = [
        "| case | seconds | MB/s | x fastest baseline | peak RSS MB | rows | Parquet MB |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        ratio = r["mb_per_s"] / fastest["mb_per_s"]
        lines.append(
            f"| {r['case']} | {r['seconds']:.1f} | {r['mb_per_s']:.0f} | {ratio:.2f} | "
            f"{r['peak_rss_mb']:.0f} | {r['rows']:,} | {r['output_mb']:.0f} |"
        )
    return "\n".join(lines)


def parent(args: argparse.Namespace) -> int:
    work = Path(tempfile.mkdtemp(prefix="hw-bench-", dir=args.work_dir))
    src = work / "sales.csv"
    try:
        started = time.perf_counter()
        expected_rows = generate_csv(src, int(args.size_mb * 2**20))
        size_mb = src.stat().st_size / 2**20
        print(
            f"generated {size_mb:.0f} MB, {expected_rows:,} rows "
            f"in {time.perf_counter() - started:.0f}s",
            file=sys.stderr,
        )
        results = []
        for case in args.cases:
            print(f"running {case} ...", file=sys.stderr)
            results.append(run_case(case, src, work, args))
    finally:
        src.unlink(missing_ok=True)
        for leftover in work.iterdir():
            leftover.unlink()
        work.rmdir()

    baselines = [r for r in results if r["case"] in BASELINES]
    fastest = max(baselines or results, key=lambda r: r["mb_per_s"])
    print(
        f"\nInput: {size_mb:.0f} MB CSV, {expected_rows:,} rows; fastest baseline: "
        f"{fastest['case']}\n"
    )
    print(markdown_table(results, fastest))
    verdict = {}
    processor = next((r for r in results if r["case"] == "processor"), None)
    if processor is not None:
        verdict = {
            "rss_ok": processor["peak_rss_mb"] < RSS_TARGET_MB,
            "throughput_ratio": processor["mb_per_s"] / fastest["mb_per_s"],
        }
        verdict["throughput_ok"] = verdict["throughput_ratio"] >= THROUGHPUT_TARGET
        print(
            f"\nprocessor targets: peak RSS {processor['peak_rss_mb']:.0f} MB < {RSS_TARGET_MB} MB"
            f" -> {'PASS' if verdict['rss_ok'] else 'FAIL'}; throughput "
            f"{verdict['throughput_ratio']:.2f}x >= {THROUGHPUT_TARGET}x fastest baseline -> "
            f"{'PASS' if verdict['throughput_ok'] else 'FAIL'}"
        )
    report = {
        "when": now(),
        "machine": machine(),
        "input": {"size_mb": size_mb, "rows": expected_rows},
        "tuning": {
            "block_size": args.block_size,
            "use_threads": not args.no_threads,
            "row_group_rows": args.row_group_rows,
            "compression": args.compression,
        },
        "fastest_baseline": fastest["case"],
        "results": results,
        "verdict": verdict,
    }
    out = write_report(report, args.results_dir, f"ingest-{args.size_mb:g}mb")
    print(f"\nresults: {out}", file=sys.stderr)
    mismatched = [r["case"] for r in results if r["rows"] != expected_rows]
    if mismatched:
        print(f"row count mismatch in: {', '.join(mismatched)}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    from headwater.ingest.convert import Tuning

    defaults = Tuning()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=float, default=1024)
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES))
    parser.add_argument("--work-dir", default=None, help="where the CSV and outputs go")
    parser.add_argument("--results-dir", default=str(RESULTS_DIR))
    parser.add_argument("--block-size", type=int, default=defaults.block_size)
    parser.add_argument("--row-group-rows", type=int, default=defaults.row_group_rows)
    parser.add_argument("--compression", default=defaults.compression)
    parser.add_argument("--no-threads", action="store_true")
    parser.add_argument("--child", choices=CASES, dest="case", help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.case:
        child(args)
        return 0
    return parent(args)


if __name__ == "__main__":
    raise SystemExit(main())
