"""Existing deployments move to the stack layout without replacing anything.

Applies ``environments/local`` as it was before the restructure (commit ``9be1fa5``, extracted
with ``git archive``) to an emulator of its own, then plans the current ``environments/local``
against the same state: every changed address must be covered by a ``moved`` block, so no
resource may be deleted or replaced. Creates (new resources) and updates in place are allowed;
the updates are printed for the record.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.support.emulator import free_port
from tests.support.paths import ROOT
from tests.support.terraform import terraform_binary, terraform_env

pytestmark = pytest.mark.e2e

PREVIOUS_LAYOUT = "9be1fa5"  # main just before the stack restructure
APPLY_TIMEOUT = 900
PLAN_TIMEOUT = 600
# Replacing or deleting an existing object is what the moved blocks must prevent.
FORBIDDEN = ({"delete"}, {"create", "delete"})  # delete alone, or a replacement in either order
_NOT_SOURCE = shutil.ignore_patterns(
    ".terraform", ".terraform.lock.hcl", "*.tfstate", "*.tfstate.*", "backend.hcl"
)


def _run(args: list[str], cwd: Path, env: dict[str, str], timeout: int) -> str:
    result = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, (
        f"{' '.join(args[:3])} failed in {cwd}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    return result.stdout


def _previous_terraform(dest: Path) -> Path:
    git = shutil.which("git")
    if git is None:
        pytest.fail("git is not on PATH: the previous layout comes from `git archive`")
    archive = subprocess.run(
        [git, "-C", str(ROOT), "archive", "--format=tar", PREVIOUS_LAYOUT, "terraform"],
        capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    if archive.returncode != 0:
        pytest.fail(
            f"commit {PREVIOUS_LAYOUT} (the layout before the stack) is not available in this "
            f"clone (a shallow clone?): {archive.stderr.decode(errors='replace')[-500:]}"
        )
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(dest, filter="data")
    return dest / "terraform"


def _redeployment(change: dict) -> bool:
    """A stage's deployment is an immutable snapshot of the routes: a capability that adds
    routes (records did) replaces it by design, new one first (create_before_destroy), so the
    stage is never without one. Only that replacement, for that reason, is allowed."""
    return (
        change.get("type") == "aws_api_gateway_deployment"
        and change["change"]["actions"] == ["create", "delete"]
        and [path[0] for path in change["change"].get("replace_paths") or []] == ["triggers"]
    )


def _replacements(plan: dict) -> tuple[list[str], list[str]]:
    """(addresses deleted or replaced, addresses updated in place)."""
    bad, updated = [], []
    for change in plan.get("resource_changes", []):
        if change.get("mode") != "managed":
            continue
        actions = set(change["change"]["actions"])
        if _redeployment(change):
            updated.append(f"{change['address']} (redeployed: the routes changed)")
        elif actions in FORBIDDEN:
            moved_from = change.get("previous_address")
            note = f" (from {moved_from})" if moved_from else ""
            bad.append(f"{change['address']}: {'+'.join(change['change']['actions'])}{note}")
        elif actions == {"update"}:
            updated.append(change["address"])
    return bad, updated


def test_previous_local_environment_moves_without_replacement(tmp_path):
    tf = terraform_binary()
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    env = {
        **terraform_env(ROOT / ".headwater" / "migration-test"),
        "HEADWATER_STATE_DIR": str(state_dir),
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }
    env.pop("AWS_PROFILE", None)
    headwater = [sys.executable, "-m", "headwater.cli", "local"]
    tfstate = state_dir / "migration.tfstate"

    old_root = _previous_terraform(tmp_path / "old")
    new_root = tmp_path / "new" / "terraform"
    shutil.copytree(ROOT / "terraform", new_root, ignore=_NOT_SOURCE)

    build = tmp_path / "build"
    _run(
        [sys.executable, str(ROOT / "scripts/build_artifact.py"), "--local", "--out", str(build)],
        ROOT, env, 300,
    )  # fmt: skip
    artifact = build / "lambda-local.zip"
    assert artifact.is_file(), f"build_artifact.py --local did not write {artifact}"

    init = ["init", "-input=false", "-no-color", "-reconfigure", f"-backend-config=path={tfstate}"]
    _run([*headwater, "up", "--port", str(port)], ROOT, env, 120)
    try:
        old = old_root / "environments" / "local"
        _run([tf, *init], old, env, 300)
        _run(
            [tf, "apply", "-input=false", "-no-color", "-auto-approve",
             f"-var=endpoint={endpoint}", f"-var=artifact_path={artifact}"],
            old, env, APPLY_TIMEOUT,
        )  # fmt: skip

        new = new_root / "environments" / "local"
        _run([tf, *init], new, env, 300)
        _run(
            [tf, "plan", "-input=false", "-no-color", "-out=migration.plan",
             f"-var=endpoint={endpoint}",
             f"-var=artifacts={{api=\"{artifact}\",data=\"{artifact}\",onboard=\"{artifact}\"}}"],
            new, env, PLAN_TIMEOUT,
        )  # fmt: skip
        plan = json.loads(_run([tf, "show", "-json", "migration.plan"], new, env, 120))
    finally:
        subprocess.run([*headwater, "down"], cwd=ROOT, env=env, capture_output=True, timeout=120)

    bad, updated = _replacements(plan)
    print("updated in place:\n  " + "\n  ".join(updated or ["(none)"]))
    assert not bad, "the new layout deletes or replaces existing resources:\n" + "\n".join(bad)
    moved = [c for c in plan["resource_changes"] if c.get("previous_address")]
    assert moved, "nothing moved: is the state really the previous layout's?"


def test_forbidden_actions_are_recognised():
    plan = {
        "resource_changes": [
            {"address": "a.x", "mode": "managed", "change": {"actions": ["delete", "create"]}},
            {"address": "a.y", "mode": "managed", "change": {"actions": ["create", "delete"]}},
            {"address": "a.z", "mode": "managed", "change": {"actions": ["delete"]}},
            {"address": "a.u", "mode": "managed", "change": {"actions": ["update"]}},
            {"address": "a.c", "mode": "managed", "change": {"actions": ["create"]}},
            {"address": "d.r", "mode": "data", "change": {"actions": ["delete"]}},
            # A deployment replaced, new first, because the routes (its triggers) changed: allowed.
            {
                "address": "s.deployment",
                "mode": "managed",
                "type": "aws_api_gateway_deployment",
                "change": {"actions": ["create", "delete"], "replace_paths": [["triggers"]]},
            },
            # ... but not destroyed first, nor replaced for another reason.
            {
                "address": "s.gap",
                "mode": "managed",
                "type": "aws_api_gateway_deployment",
                "change": {"actions": ["delete", "create"], "replace_paths": [["triggers"]]},
            },
            {
                "address": "s.api",
                "mode": "managed",
                "type": "aws_api_gateway_deployment",
                "change": {"actions": ["create", "delete"], "replace_paths": [["rest_api_id"]]},
            },
        ]
    }
    bad, updated = _replacements(plan)
    assert [b.split(":")[0] for b in bad] == ["a.x", "a.y", "a.z", "s.gap", "s.api"]
    assert updated == ["a.u", "s.deployment (redeployed: the routes changed)"]
