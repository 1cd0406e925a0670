"""Terraform outputs for every command: one reader, three sources, one shape.

Commands need names such as ``raw_bucket`` or ``lookup_table`` of a deployed environment. They
come from one of

* a file written by ``terraform output -json`` (``{"name": {"value": ..., "type": ...}}``),
* a Terraform state file (the same mapping under its ``"outputs"`` key): ``setup.sh`` checks the
  local state against a freshly started emulator before Terraform runs,
* ``terraform -chdir=DIR output -json`` run here.

All three become a plain ``{name: value}`` mapping.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from headwater.cli import localenv
from headwater.cli.errors import CommandError


def unwrap(raw: dict[str, Any]) -> dict[str, Any]:
    """``{"name": {"value": v, ...}}`` (or a state file holding it) -> ``{"name": v}``."""
    if "outputs" in raw and "terraform_version" in raw:  # a state file
        raw = raw["outputs"]
    return {
        name: value.get("value") if isinstance(value, dict) and "value" in value else value
        for name, value in raw.items()
    }


def read_outputs(path: Path | None) -> dict[str, Any]:
    """Outputs from an ``output -json`` file or a state file.

    Without a path: the local Terraform state when ENV=local and it exists (so README commands
    need no ``--outputs``), else {}.
    """
    if path is None:
        path = localenv.default_outputs()
    if path is None:
        return {}
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CommandError(f"cannot read outputs {path}: {exc}") from exc
    if not isinstance(raw, dict):
        raise CommandError(f"cannot read outputs {path}: not a JSON object")
    return unwrap(raw)


def terraform_outputs(directory: Path) -> dict[str, Any]:
    """``terraform -chdir=DIR output -json`` (the directory must be initialised)."""
    terraform = shutil.which("terraform")
    if terraform is None:
        raise CommandError("terraform not found on PATH")
    completed = subprocess.run(  # noqa: S603 (fixed argument list, no shell)
        [terraform, f"-chdir={directory}", "output", "-json"],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        lines = (completed.stderr or completed.stdout).strip().splitlines()
        raise CommandError(f"terraform output in {directory} failed: {lines[-1] if lines else ''}")
    try:
        return unwrap(json.loads(completed.stdout or "{}"))
    except ValueError as exc:
        raise CommandError(f"terraform output in {directory}: not JSON: {exc}") from exc


def add_arguments(parser: argparse.ArgumentParser, required: bool = False) -> None:
    """``--outputs FILE`` or ``--terraform-dir DIR`` (one of them when ``required``)."""
    group = parser.add_mutually_exclusive_group(required=required)
    group.add_argument(
        "--outputs",
        type=Path,
        metavar="FILE",
        help="`terraform output -json` of the environment (or its state file)",
    )
    group.add_argument(
        "--terraform-dir",
        type=Path,
        metavar="DIR",
        help="run `terraform output -json` in this initialised environment directory",
    )


def from_args(args: argparse.Namespace) -> dict[str, Any]:
    directory = getattr(args, "terraform_dir", None)
    if directory is not None:
        return terraform_outputs(directory)
    return read_outputs(getattr(args, "outputs", None))


def setting(flag: Any, outputs: dict[str, Any], name: str, option: str) -> Any:
    """A flag's value, else the output ``name``; a clear error when neither is there."""
    value = flag if flag is not None else outputs.get(name)
    if not value:
        hint = ""
        if localenv.is_local() and localenv.default_outputs() is None:
            hint = f" (no local deployment at {localenv.local_tfstate()}: run ./setup.sh deploy)"
        raise CommandError(f"give {option} or --outputs with a {name!r} output{hint}")
    return value


# ---- `headwater outputs check` -------------------------------------------------------------


def register(subparsers: Any) -> None:
    outputs = subparsers.add_parser(
        "outputs",
        help="check a deployed environment through its Terraform outputs",
        description="Terraform outputs of an environment: from a file, a state file or "
        "`terraform output -json`.",
    )
    commands = outputs.add_subparsers(dest="outputs_command", metavar="ACTION")
    check = commands.add_parser(
        "check",
        help="exit 0 when the environment's raw bucket exists at the target (else 1)",
        description="Whether the outputs describe what the target (AWS, or the emulator at "
        "AWS_ENDPOINT_URL) holds: its raw bucket exists. The emulator keeps everything in "
        "memory, so state from before its last start describes nothing.",
    )
    add_arguments(check, required=True)
    check.add_argument("--quiet", action="store_true", help="no message, only the exit status")
    check.set_defaults(func=_check)
    outputs.set_defaults(func=lambda _args: _usage(outputs))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _check(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from headwater.aws import client

    try:
        bucket = from_args(args).get("raw_bucket")
        if not bucket:
            raise CommandError("the outputs name no raw_bucket: is the environment deployed?")
        try:
            client("s3").head_bucket(Bucket=bucket)
        except (ClientError, BotoCoreError) as exc:
            raise CommandError(f"raw bucket {bucket} is not there: {exc}") from exc
    except CommandError:
        if args.quiet:
            return 1
        raise
    if not args.quiet:
        print(f"raw bucket {bucket} exists")
    return 0
