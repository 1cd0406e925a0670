"""The records API benchmark runs end to end on tiny sizes: every case runs, every answer is
checked (201 with one id per record, a read of what was posted) and the records table holds
exactly what was written. Counts and structure only, never timings."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import ROOT

pytestmark = pytest.mark.integration

CASES = {
    "floor_single": (1, 1),
    "floor_batch": (1, 100),
    "floor_getitem": (1, 1),
    "handler_single": (1, 1),
    "handler_batch": (1, 100),
    "handler_idempotent": (1, 1),
    "front_single_seq": (1, 1),
    "front_single_concurrent": (3, 1),
    "front_batch_seq": (1, 100),
    "front_batch_concurrent": (3, 100),
    "front_single_idempotent": (1, 1),
    "front_get": (1, 1),
}


def test_records_api_bench_answers_every_request_and_stores_every_record(tmp_path: Path) -> None:
    results = tmp_path / "results"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.records_api_bench",
            *("--singles", "12", "--batches", "4", "--concurrency", "3", "--rounds", "2"),
            *("--work-dir", str(tmp_path), "--results-dir", str(results)),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (report_file,) = results.glob("*.json")
    report = json.loads(report_file.read_text())
    by_case = {r["case"]: r for r in report["results"]}
    assert set(by_case) == set(CASES)
    for name, (threads, records) in CASES.items():
        r = by_case[name]
        expected = 4 if records == 100 else 12
        assert r["requests"] == r["ok"] == expected, r
        assert r["failures"] == [] and r["rounds"] == 2, r
        assert (r["concurrency"], r["records_per_request"]) == (threads, records), r
        assert r["records_per_s"] == pytest.approx(r["requests_per_s"] * records)
        assert r["p99_ms"] >= r["p50_ms"] > 0
        assert r["floor"] in CASES and r["p50_x_floor"] > 0
    for floor in ("floor_single", "floor_batch", "floor_getitem"):
        assert by_case[floor]["p50_x_floor"] == 1.0
    # Nothing lost: every 201's records and every raw write are in the table (20 seeded for
    # the GET cases, warm-ups included), one idempotency item per idempotent POST.
    stored = report["stored"]
    assert stored["records_stored"] == stored["records_written"] > 0
    assert stored["idempotency_items"] == stored["idempotent_posts"] > 24
    # What each POST asks of DynamoDB: one BatchWriteItem per 25 records; with an
    # Idempotency-Key, Powertools' conditional PutItem of the in-progress record before the write
    # and its UpdateItem with the answer after. The tenancy directory (GetItem) is cached for 60 s:
    # read at most when the cache expires during the run.
    per_request = {}
    for case in ("handler_single", "handler_batch", "handler_idempotent"):
        calls = {op: call["per_request"] for op, call in by_case[case]["emulator_calls"].items()}
        assert calls.pop("GetItem", 0.0) <= 0.5, calls
        per_request[case] = calls
    assert per_request == {
        "handler_single": {"BatchWriteItem": 1.0},
        "handler_batch": {"BatchWriteItem": 4.0},
        "handler_idempotent": {"PutItem": 1.0, "BatchWriteItem": 1.0, "UpdateItem": 1.0},
    }
    assert set(report["ratios"]) == {
        "batch_x_single_records_per_s.floor",
        "batch_x_single_records_per_s.handler",
        "batch_x_single_records_per_s.front_seq",
        "batch_x_single_records_per_s.front_concurrent",
        "idempotent_x_plain_p50.handler",
        "idempotent_x_plain_records_per_s.handler",
        "idempotent_x_plain_p50.front_seq",
        "idempotent_x_plain_records_per_s.front_seq",
        "concurrent_x_seq_records_per_s.single",
        "concurrent_x_seq_records_per_s.batch",
    }
    assert "| front_batch_concurrent |" in done.stdout and "| ratio | value |" in done.stdout
