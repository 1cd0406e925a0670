"""The onboard benchmark runs end to end on a tiny table: every case it can run reads every row
(the bench exits 1 otherwise) and reports its peak RSS. Counts only, never timings.

It runs the cases whose packages the suite's environment has: the worker's path and the bare
ADBC driver (the `local` extra brings the driver). The baselines' packages (psycopg2 for the
public design, dlt, psycopg for the COPY ceiling) are in the `bench` dependency group only, so
here those cases are left out, and the test checks that exactly the installed ones ran."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench import onboard_bench
from tests.support.paths import ROOT

pytestmark = pytest.mark.integration


def test_onboard_bench_reads_every_row_in_every_installed_case(
    tmp_path: Path,
    postgres_db: dict,
) -> None:
    installed = [c for c in onboard_bench.CASES if onboard_bench.available(c)]
    # The worker's path is what the bench is for: the suite's environment must run it.
    assert "worker" in installed, "headwater.onboard or the ADBC driver is not importable"
    results = tmp_path / "results"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.onboard_bench",
            "--rows",
            "3000",
            "--flat-rows",
            "1000",
            "--part-bytes",
            "65536",
            "--rounds",
            "1",
            "--work-dir",
            str(tmp_path),
            "--results-dir",
            str(results),
            "--use-server",  # the session's server, a fresh database: no initdb of its own
        ],
        env={**os.environ, onboard_bench.SETTINGS_ENV: json.dumps(postgres_db)},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (report_file,) = results.glob("onboard-3000-*.json")
    report = json.loads(report_file.read_text())
    assert report["cases"] == installed
    assert report["left_out"] == [c for c in onboard_bench.CASES if c not in installed]
    ran = [(r["case"], r["table_rows"]) for r in report["results"]]
    assert ran == [(c, 3000) for c in installed] + [("worker", 1000)]
    for r in report["results"]:
        assert r["rows"] == r["table_rows"], r
        assert r["peak_rss_mb"] > 0 and r["rows_per_s"] > 0
    assert report["verdict"]["path"] == "worker"
    assert {"rss_ok", "rss_growth", "flat_ok"} <= set(report["verdict"])
    assert "| worker | 3,000 |" in done.stdout
