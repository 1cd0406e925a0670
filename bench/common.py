"""What every benchmark does the same way: where results go, what machine ran them, percentiles."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import platform
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "python": platform.python_version()}


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def write_report(report: dict[str, Any], results_dir: str | Path, name: str) -> Path:
    """``<results_dir>/<name>-<UTC stamp>.json``; returns its path."""
    out_dir = Path(results_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    out = out_dir / f"{name}-{stamp}.json"
    out.write_text(json.dumps(report, indent=2))
    return out


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return 0.0
    rank = max(1, min(len(sorted_values), round(fraction * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


class Checker(Protocol):
    """What checks a case's answers (counted, not timed): ``ok`` answers, a few ``failures``."""

    ok: int
    failures: list[str]


def run_case(
    name: str,
    keys: Sequence[Any],
    total: int,
    concurrency: int,
    make_worker: Callable[[Any], Callable[[Any], None]],
    checker: Checker,
) -> dict[str, Any]:
    """Send ``total`` requests over ``concurrency`` threads, timing each ``send(key)``.

    ``make_worker(checker)`` runs once per thread (its connections and clients), outside the
    per-request timing; thread ``i`` sends ``keys[(i + n * concurrency) % len(keys)]``, so with
    ``len(keys) == total`` every key is sent exactly once."""
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    shares = [
        total // concurrency + (1 if i < total % concurrency else 0) for i in range(concurrency)
    ]

    def thread_main(index: int) -> None:
        send = make_worker(checker)
        mine = latencies[index]
        for n in range(shares[index]):
            key = keys[(index + n * concurrency) % len(keys)]
            started = time.perf_counter()
            send(key)
            mine.append(time.perf_counter() - started)

    threads = [threading.Thread(target=thread_main, args=(i,)) for i in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    ordered = sorted(itertools.chain.from_iterable(latencies))
    return {
        "case": name,
        "requests": len(ordered),
        "ok": checker.ok,
        "failures": checker.failures,
        "concurrency": concurrency,
        "seconds": seconds,
        "requests_per_s": len(ordered) / seconds,
        "p50_ms": percentile(ordered, 0.50) * 1000,
        "p90_ms": percentile(ordered, 0.90) * 1000,
        "p99_ms": percentile(ordered, 0.99) * 1000,
        "latencies": ordered,
    }


def merge_rounds(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One case's rounds as one result: all latencies, requests over the summed seconds."""
    ordered = sorted(itertools.chain.from_iterable(r["latencies"] for r in rounds))
    seconds = sum(r["seconds"] for r in rounds)
    return {
        "case": rounds[0]["case"],
        "requests": len(ordered),
        "ok": sum(r["ok"] for r in rounds),
        "failures": [f for r in rounds for f in r["failures"]][:5],
        "concurrency": rounds[0]["concurrency"],
        "rounds": len(rounds),
        "seconds": seconds,
        "requests_per_s": len(ordered) / seconds,
        "p50_ms": percentile(ordered, 0.50) * 1000,
        "p90_ms": percentile(ordered, 0.90) * 1000,
        "p99_ms": percentile(ordered, 0.99) * 1000,
    }
