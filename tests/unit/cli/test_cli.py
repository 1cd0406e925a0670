"""The ``headwater`` dispatcher: entry points, old spellings, exit codes, the shared outputs reader
and the demo's failure accounting."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys

import pytest

from headwater import cli
from headwater.cli import demo, errors, ingest, lookup, outputs


@pytest.mark.parametrize("module", ["headwater", "headwater.cli"])
def test_python_dash_m_runs_the_command(module):
    done = subprocess.run(
        [sys.executable, "-m", module, "--help"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    for group in ("ingest", "lookup", "keys", "demo", "local", "schedules", "openapi", "feed"):
        # A long name ("schedules") has its help on the next line.
        assert re.search(rf"^    {group}\s", done.stdout, re.MULTILINE), group
    assert "    summary " in done.stdout


@pytest.mark.parametrize(
    "argv",
    [
        ["summary", "--manifest", "m.json", "--outputs", "o.json"],
        ["ingest", "summary", "--manifest", "m.json", "--outputs", "o.json"],
        ["ingest", "summary", "--prefix", "ingest/sales/", "--since", "6h"],
        ["summary", "--prefix", "ingest/", "--since", "2026-11-20", "--until", "2026-11-21"],
        ["feed", "--dry-run"],
        ["ingest", "feed", "--dry-run"],
        ["lookup", "publish", "x.csv", "--dataset", "employees"],
        ["lookup", "curl"],
        ["keys", "list"],
        ["openapi", "--out", "-"],
        ["local", "status"],
        ["demo", "--outputs", "o.json"],
        ["outputs", "check", "--outputs", "o.json"],
    ],
)
def test_every_spelling_parses_to_a_command(argv):
    assert callable(cli.build_parser().parse_args(argv).func)


@pytest.mark.parametrize("group", [[], ["ingest"], ["lookup"], ["keys"], ["local"], ["outputs"]])
def test_a_group_without_an_action_prints_help_and_exits_2(group, capsys):
    assert cli.main(group) == 2
    assert "usage: headwater" in capsys.readouterr().err


def _command(effect):
    module = argparse.Namespace(
        register=lambda sub: sub.add_parser("boom").set_defaults(func=effect)
    )
    return module


@pytest.mark.parametrize(
    ("exception", "code"),
    [
        (errors.CommandError("it broke"), 1),
        (errors.UsageError("give --x"), 2),
        (KeyboardInterrupt(), 130),
    ],
)
def test_exit_codes(exception, code, capsys):
    def effect(_args):
        raise exception

    assert cli.main(["boom"], commands=(_command(effect),)) == code
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    if code != 130:
        assert err == [f"headwater: error: {exception}"]


def test_outputs_reads_output_files_and_state_files_alike(tmp_path):
    wrapped = {"raw_bucket": {"value": "raw-1", "type": "string", "sensitive": False}}
    output_file = tmp_path / "outputs.json"
    output_file.write_text(json.dumps(wrapped))
    state_file = tmp_path / "terraform.tfstate"
    state_file.write_text(
        json.dumps({"version": 4, "terraform_version": "1.9", "outputs": wrapped})
    )
    assert outputs.read_outputs(output_file) == {"raw_bucket": "raw-1"}
    assert outputs.read_outputs(state_file) == {"raw_bucket": "raw-1"}
    assert outputs.read_outputs(None) == {}
    with pytest.raises(errors.CommandError, match="cannot read outputs"):
        outputs.read_outputs(tmp_path / "missing.json")


def test_outputs_check_is_quiet_and_fails_without_a_raw_bucket(tmp_path, capsys):
    empty = tmp_path / "outputs.json"
    empty.write_text("{}")
    assert cli.main(["outputs", "check", "--quiet", "--outputs", str(empty)]) == 1
    assert capsys.readouterr().err == ""
    assert cli.main(["outputs", "check", "--outputs", str(empty)]) == 1
    assert "no raw_bucket" in capsys.readouterr().err


def test_demo_runs_every_step_and_fails_when_one_did(monkeypatch, tmp_path, capsys):
    ran = []

    def ingest_fails(_args):
        ran.append("ingest")
        raise errors.CommandError("no raw bucket")

    def lookup_ok(*_args):
        ran.append("lookup")
        return 0

    monkeypatch.setattr(ingest, "run_demo", ingest_fails)
    monkeypatch.setattr(lookup, "run_demo", lookup_ok)
    assert cli.main(["demo", "--outputs", str(tmp_path / "o.json")], commands=(demo,)) == 1
    assert ran == ["ingest", "lookup"]
    assert "demo failed: ingest" in capsys.readouterr().err


def test_lookup_demo_skips_an_environment_without_lookup(tmp_path, capsys):
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({"raw_bucket": {"value": "raw"}}))
    args = argparse.Namespace(outputs=path, lookup_wait=1, api_wait=0)
    assert lookup.run_demo(args) == 0
    assert "skipping the lookup example" in capsys.readouterr().err
