"""The connector benchmark runs at a tiny size: both cases collect every row, the connector is
never throttled and the naive client is (counted by the fake, not timed)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support import paths


def test_connector_bench_collects_everything_and_only_the_naive_client_is_throttled(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "bench.collect_connector_bench", "--pages", "12", "--limit", "5",
         "--window-seconds", "0.5", "--results-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=300, cwd=paths.ROOT, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (report_file,) = tmp_path.glob("collect-connector-12-*.json")
    results = {r["case"]: r for r in json.loads(report_file.read_text())["results"]}
    assert set(results) == {"connector", "naive"}
    assert all(r["rows"] == 120 and r["pages"] == 12 for r in results.values())
    # The limit is 5 calls a window: paced on the usage headers, the connector never passes it.
    assert results["connector"]["throttled"] == 0
    assert results["connector"]["requests"] == 12
    assert results["naive"]["throttled"] > 0
    assert "| connector |" in done.stdout
