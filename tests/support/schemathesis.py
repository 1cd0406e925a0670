"""Schemathesis as its command (``schemathesis run``) against the session's local deployment:
its pytest plugin does not run under this project's pytest, so the e2e tests read its JSON
report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.e2e import api_base, key_value
from tests.support.paths import ROOT

DOCUMENT = ROOT / "docs" / "openapi.json"
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
)


def schemathesis(
    platform: dict,
    document: Path,
    workdir: Path,
    *extra: str,
    key: str | None = None,
    examples: int = 50,
) -> tuple[subprocess.CompletedProcess, dict]:
    """Run the examples, coverage and fuzzing phases with ``key`` (default: the internal "ops"
    key), at most ``examples`` per operation and phase: (the run, its JSON report)."""
    report_dir = workdir / "report"
    key = key if key is not None else key_value(platform, "ops")
    run = subprocess.run(
        [
            *(sys.executable, "-m", "schemathesis.cli", "run", str(document)),
            *("--url", api_base(platform), "--header", f"x-api-key: {key}"),
            *("--checks", ",".join(CHECKS), "--max-examples", str(examples)),
            *("--phases", "examples,coverage,fuzzing", "--request-timeout", "30"),
            *("--report", "json", "--report-dir", str(report_dir)),
            *extra,
        ],
        # Its crash cache (.schemathesis/) would replay an earlier run's failures: each run
        # starts clean, in a directory of its own.
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=300,
        env={"NO_COLOR": "1", **platform["local_env"]},
    )
    (report,) = report_dir.glob("*.json")
    return run, json.loads(report.read_text(encoding="utf-8"))
