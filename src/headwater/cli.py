"""The ``headwater`` command.

Each capability registers its own subcommands (``register(subparsers)`` in its ``cli`` module), so
this file stays a thin dispatcher. Exit codes: 0 success, 1 failure, 2 usage error.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from headwater import __version__

# Modules that contribute subcommands, each exposing ``register(subparsers)``.
_COMMAND_MODULES = (
    "headwater.local.cli",
    "headwater.feed.cli",
    "headwater.summary",
    "headwater.keys_cli",
    "headwater.openapi_cli",
    "headwater.lookup_cli",
)


class CommandError(Exception):
    """A failure to report to the user as one clear line (exit code 1), without a traceback."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="headwater",
        description="Serverless data platform kit for AWS: local mode, feeder and tools.",
    )
    parser.add_argument("--version", action="version", version=f"headwater {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except CommandError as exc:
        print(f"headwater: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    # Under ``python -m`` this file runs as __main__; dispatch through the imported module so
    # subcommands raise the same CommandError class that main() catches.
    from headwater.cli import main as _main

    sys.exit(_main())
