"""The ``headwater`` command: a thin dispatcher over one module per command group.

Each module exposes ``register(subparsers)`` and raises ``CommandError`` (``cli/errors.py``) for a
failure the user should read as one line. Exit codes: 0 success, 1 failure, 2 usage error,
130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from types import ModuleType

from headwater import __version__
from headwater.cli import (
    collect,
    demo,
    feed,
    ingest,
    keys,
    local,
    localenv,
    lookup,
    onboard,
    openapi,
    outputs,
    records,
    schedules,
)
from headwater.cli.errors import CommandError, UsageError

# Order is the order of `headwater --help`: capabilities first, then tools.
COMMANDS: tuple[ModuleType, ...] = (
    ingest,
    feed,
    lookup,
    records,
    collect,
    onboard,
    keys,
    demo,
    local,
    schedules,
    outputs,
    openapi,
)

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def build_parser(commands: Sequence[ModuleType] = COMMANDS) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="headwater",
        description="Serverless data platform kit for AWS: capabilities' commands, the demo, "
        "local mode and tools. `headwater COMMAND --help` describes each.",
    )
    parser.add_argument("--version", action="version", version=f"headwater {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in commands:
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None, commands: Sequence[ModuleType] = COMMANDS) -> int:
    parser = build_parser(commands)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    # ENV=local (the default): the running local mode's endpoint, test credentials and region,
    # for this process only, unless an endpoint or profile was chosen (see cli/localenv.py).
    localenv.apply()
    try:
        return int(args.func(args) or 0)
    except UsageError as exc:
        print(f"headwater: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except CommandError as exc:
        print(f"headwater: error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("headwater: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
