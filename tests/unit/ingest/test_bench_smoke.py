"""The ingest benchmark runs end to end on a tiny input and every case converts every row."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support import paths


def test_bench_runs_every_case_with_equal_row_counts(tmp_path):
    results = tmp_path / "results"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.ingest_bench",
            "--size-mb",
            "2",
            "--work-dir",
            str(tmp_path),
            "--results-dir",
            str(results),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=paths.ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    (report_file,) = results.glob("ingest-2mb-*.json")
    report = json.loads(report_file.read_text())
    expected = report["input"]["rows"]
    assert expected > 10_000
    assert {r["case"] for r in report["results"]} == {"processor", "pandas", "pyarrow", "duckdb"}
    assert all(r["rows"] == expected for r in report["results"]), report["results"]
    assert all(r["peak_rss_mb"] > 0 and r["mb_per_s"] > 0 for r in report["results"])
    assert "| processor |" in done.stdout
