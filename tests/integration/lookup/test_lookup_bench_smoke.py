"""The lookup benchmarks run end to end on tiny sizes: every case runs and loads or answers all.

Counts only, never timings. Both start the emulator (in their own process), hence integration.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import ROOT

pytestmark = pytest.mark.integration


def run_bench(module: str, tmp_path: Path, *options: str) -> tuple[dict, str]:
    results = tmp_path / "results"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            f"bench.{module}",
            *options,
            "--work-dir",
            str(tmp_path),
            "--results-dir",
            str(results),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (report_file,) = results.glob("*.json")
    return json.loads(report_file.read_text()), done.stdout


def test_lookup_bench_loads_every_row_in_every_case(tmp_path):
    report, stdout = run_bench("lookup_bench", tmp_path, "--rows", "200", "--keys", "20")
    assert (report["input"]["rows"], report["input"]["keys"]) == (200, 20)
    results = {r["case"]: r for r in report["results"]}
    assert set(results) == {"loader", "put_item", "replacement"}
    for r in results.values():
        assert r["rows"] == r["rows_stored"] == 200, r
        assert r["keys"] == r["data_items"] == 20, r
        assert r["dynamodb_requests"] > 0 and r["seconds"] > 0 and r["items_per_s"] > 0
    # The baseline is one PutItem per key; the loader batches (and writes a key index).
    assert results["put_item"]["requests_by_operation"] == {"PutItem": 20}
    assert results["loader"]["requests_by_operation"]["BatchWriteItem"] >= 2
    assert results["loader"]["table_items"] > results["put_item"]["table_items"]
    # The replacement retired the first version: one version's items remain, none deleted.
    assert results["replacement"]["table_items"] == results["loader"]["table_items"] + 1
    assert results["replacement"]["keys_deleted"] == 0
    assert "| loader |" in stdout and "| put_item |" in stdout


def test_api_bench_answers_every_request_in_every_case(tmp_path):
    report, stdout = run_bench(
        "api_bench",
        tmp_path,
        "--requests",
        "40",
        "--concurrency",
        "4",
        "--rows",
        "200",
        "--keys",
        "20",
    )
    assert report["dataset"] == {"rows": 200, "keys": 20, "rows_loaded": 200}
    results = {r["case"]: r for r in report["results"]}
    assert set(results) == {
        "getitem",
        "handler",
        "runner_seq",
        "front_seq",
        "runner_concurrent",
        "front_concurrent",
    }
    for name in ("runner_concurrent", "front_concurrent"):
        assert results[name]["requests"] == results[name]["ok"] == 40, results[name]
        assert results[name]["concurrency"] == 4
    for name in ("getitem", "handler", "runner_seq", "front_seq"):
        assert results[name]["requests"] == results[name]["ok"] == 10, results[name]
    for r in results.values():
        assert r["failures"] == [] and r["requests_per_s"] > 0 and r["p99_ms"] >= r["p50_ms"] > 0
    assert "| front_concurrent |" in stdout
    # The emulator ran in its own process and the checks were on, as in the daemon.
    assert report["emulator"] == "process" and report["iam_checks"] == "on"
    assert report["durability"] == "os"  # the crash-safe journal on, as the daemon runs it
    # Summed over the cases: one small case can round to 0 (/proc counts CPU in clock ticks).
    assert sum(r["cpu_ms_per_request"]["emulator"] for r in report["results"]) > 0
    # One request per lookup once the pointer is remembered (the first may read it).
    assert list(results["handler"]["emulator_calls"]) == ["GetItem"]
    assert 1 <= results["handler"]["emulator_calls"]["GetItem"]["per_request"] < 1.5
    parts = {row["part"] for row in report["breakdown"]}
    assert {"raw GetItem (floor)", "key and plan checks", "front (HTTP, route, key)"} <= parts
    assert set(report["targets"]) == {"front_p50_x_getitem", "front_concurrent_x_seq_throughput"}


def test_tenancy_bench_answers_every_request_and_the_cache_saves_the_reads(tmp_path):
    report, stdout = run_bench(
        "tenancy_bench", tmp_path, "--requests", "15", "--rows", "100", "--keys", "10"
    )
    results = {r["case"]: r for r in report["results"]}
    assert set(results) == {"no_tenancy", "cached", "uncached"}
    for r in results.values():
        assert r["requests"] == r["ok"] == 15, r
        assert r["p90_ms"] >= r["p50_ms"] > 0
    # Counts, not timings: the cached directory reads the key and its subscriber once; without
    # the cache every request reads both; the baseline reads nothing.
    assert [results[c]["directory_reads"] for c in ("no_tenancy", "cached", "uncached")] == [
        0,
        2,
        30,
    ]
    assert "| cached |" in stdout
