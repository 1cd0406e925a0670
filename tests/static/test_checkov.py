"""checkov over terraform/, clean, with every skip justified inline.

checkov ships its own fork of python-hcl2 under the same import name, so it runs as a separate
tool through uvx (its own cached environment), never inside the project's venv.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

from tests.support.terraform import TERRAFORM_DIR

CHECKOV = "checkov==3.3.30"
SKIP = re.compile(r"#\s*checkov:skip=(?P<check>[A-Z0-9_]+)(?::(?P<reason>.*))?")


def test_checkov_is_clean(terraform_copy):
    uvx = shutil.which("uvx")
    assert uvx, "uvx is not on PATH (it comes with uv, which setup.sh installs)"
    result = subprocess.run(
        [uvx, "--from", CHECKOV, "checkov", "--directory", str(terraform_copy),
         "--framework", "terraform", "--output", "json", "--skip-download"],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert result.returncode in (0, 1), f"checkov did not run:\n{result.stderr[-4000:]}"
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']}:{c['file_line_range'][0]})"
        for report in reports
        for c in report.get("results", {}).get("failed_checks", [])
    ]
    passed = sum(len(r.get("results", {}).get("passed_checks", [])) for r in reports)
    assert passed > 0, "checkov checked nothing"
    assert not failed, "checkov findings:\n" + "\n".join(failed)
    assert result.returncode == 0


def test_every_skip_is_justified():
    skips = [
        (path.relative_to(TERRAFORM_DIR), number, match)
        for path in sorted(TERRAFORM_DIR.rglob("*.tf"))
        if ".terraform" not in path.parts
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if (match := SKIP.search(line))
    ]
    assert skips, "no checkov skips found: is the pattern still right?"
    unjustified = [
        f"{path}:{number} {m['check']}"
        for path, number, m in skips
        if len((m["reason"] or "").strip()) < 20
    ]
    assert not unjustified, "skips need a reason (#checkov:skip=ID:why):\n" + "\n".join(unjustified)
