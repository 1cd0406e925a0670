"""``headwater demo``: each capability's demo step in turn, against a deployed environment.

``setup.sh run`` calls this after deploying: ingest (feed files, then the summary table), then
lookup (publish the example dataset, print a ready curl command), then records (a curl posting
an order, and how to run the weekly summary now), then collect (a curl creating a schedule, and
how to run it now and list the change files), then onboard (locally: start the demo
PostgreSQL, onboard its tables, print rows, files and seconds per table). Every step runs even
when an earlier one failed; the exit status is 1 when any did.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from headwater.cli import collect, ingest, lookup, onboard, records
from headwater.cli.errors import CommandError

# Each capability's command module, in demo order: each has add_demo_arguments(parser) and
# run_demo(args) -> exit code. A new capability with a demo step is added here.
CAPABILITIES: dict[str, ModuleType] = {
    "ingest": ingest,
    "lookup": lookup,
    "records": records,
    "collect": collect,
    "onboard": onboard,
}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run every capability's demo against the deployed environment (setup.sh run)",
        description="Run each capability's demo step in turn against a deployed environment: "
        "ingest (feed files, account for each), then lookup (publish the example, print a curl), "
        "then records (print a curl posting an order), then collect (print a curl creating a "
        "schedule), then onboard (locally: land the demo PostgreSQL's tables in S3).",
    )
    parser.add_argument(
        "--outputs", type=Path, required=True, help="`terraform output -json` of the environment"
    )
    for name, module in CAPABILITIES.items():
        module.add_demo_arguments(parser.add_argument_group(name))
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    failed = []
    for name, module in CAPABILITIES.items():
        try:
            code = module.run_demo(args)
        except CommandError as exc:
            # One capability's failure must not hide the next one's demo.
            print(f"headwater: error: {name} demo: {exc}", file=sys.stderr)
            code = 1
        if code != 0:
            failed.append(name)
    if failed:
        print(f"headwater: demo failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0
