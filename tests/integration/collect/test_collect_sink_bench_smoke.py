"""The collect sink benchmark runs end to end on a tiny input: both cases land every change
exactly once (the bench exits 1 otherwise), the naive sink writes one object per change and the
sink fewer. Counts only, never timings."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import ROOT

pytestmark = pytest.mark.integration


def test_collect_sink_bench_lands_every_change_once(tmp_path: Path) -> None:
    results = tmp_path / "results"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.collect_sink_bench",
            "--changes",
            "300",
            "--rounds",
            "1",
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
    rows = {(r["order"], r["case"]): r for r in json.loads(report_file.read_text())["results"]}
    assert set(rows) == {(o, c) for o in ("collector", "interleaved") for c in ("sink", "naive")}
    for order in ("collector", "interleaved"):
        sink, naive = rows[order, "sink"], rows[order, "naive"]
        assert naive["objects"] == 300
        # At most one object per batch and partition: 3 batches of 100, 70 partitions.
        assert 0 < sink["objects"] < naive["objects"]
    # Collector order keeps a batch's records in few partitions.
    assert rows["collector", "sink"]["objects"] < rows["interleaved", "sink"]["objects"]
    assert "| collector | sink |" in done.stdout
