"""The persistence benchmark runs end to end at a tiny size and restores everything it wrote.

Counts only, never timings. It starts emulators in its own process, hence integration.
"""

from __future__ import annotations

import pytest

from tests.integration.lookup.test_lookup_bench_smoke import run_bench

pytestmark = pytest.mark.integration


def test_persistence_bench_restores_every_write(tmp_path):
    report, stdout = run_bench(
        "persistence_bench", tmp_path, "--writes", "30", "--reads", "10", "--concurrency", "2"
    )
    assert [r["case"] for r in report["results"]] == ["memory", "os", "fsync", "memory_again"]
    assert (
        report["restart"]["restored"]
        == report["expected"]
        == {
            "items": 10,
            "messages": 10,
            "objects": 10,
        }
    )
    assert report["restart"]["replayed"] == 33  # the 30 writes and the 3 creates, no reads
    assert report["restart"]["failed"] == 0
    assert "| os |" in stdout
