"""The streams benchmark runs end to end at a tiny size and delivers every record both ways.

Counts only, never timings (the benchmark asserts every record arrived before it reports).
"""

from __future__ import annotations

import pytest

from tests.integration.lookup.test_lookup_bench_smoke import run_bench

pytestmark = pytest.mark.integration


def test_streams_bench_delivers_every_record(tmp_path):
    report, stdout = run_bench("streams_bench", tmp_path, "--records", "30", "--items", "50")
    assert report["delivered"] == {"poller": 30, "by_hand": 30}
    assert set(report["seconds"]) == {"poller", "by_hand", "ttl_check", "all_items"}
    batches = sorted((tmp_path / "by-poller").glob("batch-*.json"))
    assert len(batches) == 1  # 30 records, batch size 100: one invocation
    assert "| poller |" in stdout
