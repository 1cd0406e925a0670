"""terraform fmt and validate over every module and environment."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.terraform import TERRAFORM_DIR, terraform_binary

ROOTS = sorted(
    str(path.relative_to(TERRAFORM_DIR))
    for kind in ("modules", "environments")
    for path in (TERRAFORM_DIR / kind).iterdir()
    if path.is_dir() and any(path.glob("*.tf"))
)
MODULES = sorted(r.split("/", 1)[1] for r in ROOTS if r.startswith("modules/"))
# Every module's runnable examples (examples/<name>/*.tf calling ../..) are validated too.
EXAMPLES = sorted(
    str(path.relative_to(TERRAFORM_DIR))
    for path in (TERRAFORM_DIR / "modules").glob("*/examples/*")
    if path.is_dir() and any(path.glob("*.tf"))
)


def _terraform(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [terraform_binary(), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_every_expected_root_is_checked():
    # Guards the parametrisation below against silently checking nothing.
    assert {"modules/function", "modules/ingest"} <= set(ROOTS)
    assert {"modules/api", "modules/api_stage", "modules/lookup", "modules/kms_key"} <= set(ROOTS)
    assert {"environments/local", "environments/dev", "environments/prod"} <= set(ROOTS)
    assert {"modules/platform", "modules/queue", "modules/stack"} <= set(ROOTS)


@pytest.mark.parametrize("module", MODULES)
def test_every_module_has_a_runnable_example(module):
    examples = [e for e in EXAMPLES if e.startswith(f"modules/{module}/examples/")]
    assert examples, f"modules/{module} has no examples/<name>/main.tf"
    for example in examples:
        hcl = "".join(p.read_text() for p in (TERRAFORM_DIR / example).glob("*.tf"))
        assert 'source = "../.."' in hcl, f'{example} does not call its module (source = "../..")'
        assert 'provider "aws"' in hcl, f"{example} has no provider block: it would not run alone"


def test_fmt(tf_env):
    args = ["fmt", "-check", "-recursive", "-diff", str(TERRAFORM_DIR)]
    result = _terraform(args, TERRAFORM_DIR, tf_env)
    assert result.returncode == 0, f"terraform fmt would change:\n{result.stdout}{result.stderr}"


@pytest.mark.parametrize("root", ROOTS + EXAMPLES)
def test_validate(root, terraform_copy, tf_env):
    workdir = terraform_copy / root
    init = _terraform(["init", "-backend=false", "-input=false", "-no-color"], workdir, tf_env)
    assert init.returncode == 0, f"terraform init failed in {root}:\n{init.stdout}{init.stderr}"
    validate = _terraform(["validate", "-no-color"], workdir, tf_env)
    assert validate.returncode == 0, f"{root} is invalid:\n{validate.stdout}{validate.stderr}"
