"""The summary benchmark runs on a few files and both cases account for every one of them."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support import paths


def test_summary_bench_accounts_for_every_file_in_both_cases(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "bench.summary_bench", "--files", "30",
         "--results-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=300, cwd=paths.ROOT, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (report_file,) = tmp_path.glob("summary-30-*.json")
    results = {r["case"]: r for r in json.loads(report_file.read_text())["results"]}
    assert set(results) == {"window", "manifest"}
    assert all(r["found"] == {"curated": 27, "quarantined": 3} for r in results.values())
    # Listings instead of a request per file: fewer requests than files at all.
    assert results["window"]["requests"] < 30 < results["manifest"]["requests"]
    assert "| window |" in done.stdout
