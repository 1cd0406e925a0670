"""`terraform test` in every module that has a tests/ folder.

The tests (mock provider, plan only) assert what AWS enforces and no emulator checks: key policy
statements per service principal, TLS-only resource policies, trust conditions. Each assertion
cites the AWS documentation it encodes.
"""

from __future__ import annotations

import subprocess

import pytest

from tests.support.terraform import TERRAFORM_DIR, terraform_binary

TESTED = sorted(
    path.parent.parent.name for path in (TERRAFORM_DIR / "modules").glob("*/tests/*.tftest.hcl")
)


def test_the_aws_requirements_are_tested_per_module():
    # Guards the parametrisation below against silently testing nothing.
    assert {
        "kms_key",
        "bucket",
        "queue",
        "function",
        "platform",
        "ingest",
        "lookup",
        "api_stage",
        "records",
        "collect",
        "onboard",
    } <= set(TESTED)


@pytest.mark.parametrize("module", TESTED)
def test_module(module, terraform_copy, tf_env):
    workdir = terraform_copy / "modules" / module

    def terraform(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [terraform_binary(), *args, "-no-color"],
            cwd=workdir,
            env=tf_env,
            capture_output=True,
            text=True,
            timeout=600,
        )

    init = terraform("init", "-backend=false", "-input=false")
    assert init.returncode == 0, f"init failed in modules/{module}:\n{init.stdout}{init.stderr}"
    result = terraform("test")
    output = f"{result.stdout}{result.stderr}"
    assert result.returncode == 0, f"terraform test failed in modules/{module}:\n{output}"
