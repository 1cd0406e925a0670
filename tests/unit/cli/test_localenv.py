"""ENV=local defaults of the CLI: endpoint, credentials, region and outputs found by the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from headwater.cli import localenv, outputs
from headwater.local import state


@pytest.fixture
def running(tmp_path, monkeypatch):
    """A state directory whose daemon record names this test process (alive) as the local mode."""
    paths = state.state_paths(tmp_path)
    state.write_pid(paths, os.getpid())
    state.write_info(paths, {"pid": os.getpid(), "endpoint": "http://127.0.0.1:4999"})
    monkeypatch.setattr("headwater.local.state.is_daemon_alive", lambda *a, **k: True)
    return tmp_path


def test_local_defaults_come_from_the_running_local_mode(running):
    environ = {"HEADWATER_STATE_DIR": str(running)}
    assert localenv.apply(environ) == "http://127.0.0.1:4999"
    assert environ["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4999"
    assert environ["AWS_ACCESS_KEY_ID"] == environ["AWS_SECRET_ACCESS_KEY"] == "test"
    assert environ["AWS_DEFAULT_REGION"] == environ["AWS_REGION"] == "us-east-1"


def test_region_and_credentials_already_set_are_kept(running):
    environ = {
        "HEADWATER_STATE_DIR": str(running),
        "AWS_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "mine",
        "AWS_SECRET_ACCESS_KEY": "secret",
    }
    localenv.apply(environ)
    assert environ["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert environ["AWS_ACCESS_KEY_ID"] == "mine"


@pytest.mark.parametrize(
    "extra",
    [
        {"ENV": "dev"},
        {"ENV": "prod"},
        {"AWS_ENDPOINT_URL": "http://elsewhere:1"},
        {"AWS_PROFILE": "work"},
    ],
)
def test_never_for_real_environments_or_a_chosen_target(running, extra):
    environ = {"HEADWATER_STATE_DIR": str(running), **extra}
    assert localenv.apply(environ) is None
    assert environ == {"HEADWATER_STATE_DIR": str(running), **extra}


def test_nothing_when_the_local_mode_is_not_running(tmp_path):
    environ = {"HEADWATER_STATE_DIR": str(tmp_path)}
    assert localenv.apply(environ) is None
    assert "AWS_ENDPOINT_URL" not in environ


def test_outputs_default_to_the_local_terraform_state(tmp_path, monkeypatch):
    monkeypatch.setenv("HEADWATER_STATE_DIR", str(tmp_path))
    monkeypatch.delenv("ENV", raising=False)
    assert outputs.read_outputs(None) == {}
    tfstate = tmp_path / "local" / "terraform.tfstate"
    tfstate.parent.mkdir()
    tfstate.write_text(
        json.dumps(
            {
                "terraform_version": "1.9.0",
                "outputs": {"raw_bucket": {"value": "raw", "type": "string"}},
            }
        )
    )
    assert outputs.read_outputs(None) == {"raw_bucket": "raw"}
    monkeypatch.setenv("ENV", "dev")
    assert outputs.read_outputs(None) == {}


def test_keys_in_a_fresh_shell_without_local_mode_is_one_line(tmp_path):
    environ = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "ENV"}
    environ["HEADWATER_STATE_DIR"] = str(tmp_path)
    environ["AWS_CONFIG_FILE"] = environ["AWS_SHARED_CREDENTIALS_FILE"] = str(tmp_path / "none")
    done = subprocess.run(
        [sys.executable, "-m", "headwater", "keys", "list"],
        capture_output=True,
        text=True,
        env=environ,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("headwater: error: no AWS target")
    assert "./setup.sh deploy" in done.stderr
