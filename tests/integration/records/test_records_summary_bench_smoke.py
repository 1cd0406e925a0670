"""The records summary benchmark runs end to end on tiny sizes: both cases count the week alike
and the summary reads only the week's records. Counts only, never timings."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import ROOT

pytestmark = pytest.mark.integration


def test_records_summary_bench_reads_only_the_week(tmp_path: Path) -> None:
    results = tmp_path / "results"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.records_summary_bench",
            "--sizes",
            "400,800",
            "--work-dir",
            str(tmp_path),
            "--results-dir",
            str(results),
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
    rows = {(r["records"], r["case"]): r for r in report["results"]}
    assert set(rows) == {(n, c) for n in (400, 800) for c in ("summary", "scan")}
    for size in (400, 800):
        summary, scan = rows[size, "summary"], rows[size, "scan"]
        assert summary["week_records"] == size // 10 - size // 200
        assert summary["items_read"] == summary["week_records"]
        assert scan["items_read"] == size
    assert "| summary |" in done.stdout and "| scan |" in done.stdout
