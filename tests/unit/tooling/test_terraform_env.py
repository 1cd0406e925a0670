"""setup.sh finds a filesystem mirror of the AWS provider and writes a CLI config that uses it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tests.support.paths import ROOT

SCRIPT = ROOT / "scripts" / "terraform_env.py"


@pytest.fixture
def tfenv():
    spec = importlib.util.spec_from_file_location("terraform_env_under_test", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _mirror(root: Path, os_arch: str) -> Path:
    provider = root / "registry.terraform.io/hashicorp/aws/5.100.0" / os_arch
    provider.mkdir(parents=True)
    (provider / "terraform-provider-aws_v5.100.0_x5").write_bytes(b"\x7fELF")
    return root


def test_the_first_directory_in_terraform_order_with_the_provider_wins(
    tfenv, tmp_path, monkeypatch
):
    home_plugins = tmp_path / "home" / ".terraform.d" / "plugins"
    opt_mirror = tmp_path / "opt" / "tf"
    empty = tmp_path / "empty"
    empty.mkdir()
    _mirror(home_plugins, tfenv._os_arch())
    _mirror(opt_mirror, tfenv._os_arch())
    monkeypatch.setattr(tfenv, "_candidate_roots", lambda: [empty, home_plugins, opt_mirror])
    assert tfenv.find_mirror() == home_plugins


def test_a_mirror_for_another_platform_does_not_count(tfenv, tmp_path, monkeypatch):
    other = _mirror(tmp_path / "other", "plan9_mips")
    monkeypatch.setattr(tfenv, "_candidate_roots", lambda: [other])
    assert tfenv.find_mirror() is None


def test_cli_config_installs_the_aws_provider_from_the_mirror(tfenv, tmp_path):
    mirror = _mirror(tmp_path / "mirror", tfenv._os_arch())
    config = tfenv.write_cli_config(tmp_path / "state", mirror).read_text()
    assert f'path    = "{mirror}"' in config
    assert 'include = ["registry.terraform.io/hashicorp/aws"]' in config
    assert 'exclude = ["registry.terraform.io/hashicorp/aws"]' in config  # others: the registry
    assert f'plugin_cache_dir = "{tmp_path / "state" / "terraform-plugin-cache"}"' in config


def test_without_a_mirror_providers_come_from_the_registry(tfenv, tmp_path, monkeypatch):
    monkeypatch.setattr(tfenv, "_candidate_roots", lambda: [])
    env = tfenv.terraform_environment(tmp_path)
    config = Path(env["TF_CLI_CONFIG_FILE"]).read_text()
    assert "provider_installation" not in config
    assert "plugin_cache_dir" in config
