from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.support.terraform import REPO_ROOT, TERRAFORM_DIR, terraform_env

# Left behind by init/apply in the working tree; never part of what we check.
_NOT_SOURCE = shutil.ignore_patterns(
    ".terraform", ".terraform.lock.hcl", "*.tfstate", "*.tfstate.*", "backend.hcl"
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(item.fspath).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.static)


@pytest.fixture(scope="session")
def tf_env() -> dict[str, str]:
    # A persistent state dir (gitignored .headwater/) keeps the plugin cache across runs.
    state_dir = Path(os.environ.get("HEADWATER_STATE_DIR", REPO_ROOT / ".headwater"))
    if not state_dir.is_absolute():
        state_dir = REPO_ROOT / state_dir
    return terraform_env(state_dir / "static-tests")


@pytest.fixture(scope="session")
def terraform_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean copy of terraform/: init and scans never touch (or race with) the working tree."""
    dest = tmp_path_factory.mktemp("tf") / "terraform"
    shutil.copytree(TERRAFORM_DIR, dest, ignore=_NOT_SOURCE)
    return dest
