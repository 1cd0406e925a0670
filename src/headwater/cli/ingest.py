"""``headwater ingest feed|summary|demo``: the ingest capability from the command line.

``summary`` accounts for every file a feed sent (the ledger lives in ``headwater.ingest.summary``;
this module only reads files, draws the progress bar and prints). ``headwater summary`` is the
same command under its original spelling.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import Any

from headwater.cli import feed
from headwater.cli.errors import CommandError
from headwater.cli.outputs import read_outputs, setting
from headwater.ingest.summary import Ledger, Places, render, wait_for
from headwater.progress import ProgressBar, step

SUMMARY_HELP = "account for every file a feed sent (curated, quarantined, DLQ, pending)"


def register(subparsers: Any) -> None:
    ingest = subparsers.add_parser(
        "ingest",
        help="feed files into the raw bucket and account for each one",
        description=__doc__.splitlines()[0],
    )
    commands = ingest.add_subparsers(dest="ingest_command", metavar="ACTION")
    feed.add_arguments(commands.add_parser("feed", help=feed.HELP, description=feed.DESCRIPTION))
    _add_summary_arguments(commands.add_parser("summary", help=SUMMARY_HELP))
    demo = commands.add_parser(
        "demo",
        help="feed synthetic files into the deployed pipeline, then print the summary table",
        description="The ingest step of `headwater demo` (and `setup.sh run`).",
    )
    demo.add_argument(
        "--outputs", type=Path, required=True, help="`terraform output -json` of the environment"
    )
    add_demo_arguments(demo)
    demo.set_defaults(func=run_demo)
    ingest.set_defaults(func=lambda _args: _usage(ingest))

    # The original spelling, kept for scripts: `headwater summary`.
    _add_summary_arguments(
        subparsers.add_parser("summary", help=SUMMARY_HELP + " (= ingest summary)")
    )


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _add_summary_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--manifest", type=Path, required=True, help="the feeder's manifest JSON")
    parser.add_argument(
        "--outputs", type=Path, required=True, help="`terraform output -json` of the environment"
    )
    parser.add_argument("--wait", type=float, default=120.0, help="seconds to wait (default 120)")
    parser.set_defaults(func=lambda args: summarize(args.manifest, args.outputs, args.wait))


def summarize(manifest_path: Path, outputs_path: Path, wait: float) -> int:
    """Wait until every file in the manifest is accounted for, print the table; 0 when every
    file ended as the feed expected."""
    from headwater.aws import client

    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        places = Places.from_outputs(read_outputs(outputs_path))
    except (OSError, ValueError) as exc:
        raise CommandError(str(exc)) from exc
    ledger = Ledger.from_manifest(manifest, places)
    with ProgressBar(len(ledger.files), label="accounted", stream=sys.stderr) as bar:
        wait_for(
            ledger,
            client("s3"),
            client("sqs"),
            wait,
            on_progress=lambda n: bar.advance(n - bar.count),
        )
    print(render(ledger))
    if ledger.pending:
        print(f"\n{len(ledger.pending)} file(s) not accounted for after {wait:.0f}s")
        return 1
    return 0 if all(f.as_expected for f in ledger.files) else 1


def add_demo_arguments(parser: argparse.ArgumentParser) -> None:
    # Defaults come from the variables ./setup.sh documents (argparse converts string defaults
    # with `type`), so `setup.sh run` passes nothing capability-specific.
    env = os.environ.get
    parser.add_argument(
        "--source",
        default=env("FEED_SOURCE", "synthetic"),
        help="feed source (default synthetic, or FEED_SOURCE)",
    )
    parser.add_argument(
        "--files",
        type=int,
        default=env("FEED_FILES", "40"),
        help="files to feed (default 40, or FEED_FILES)",
    )
    parser.add_argument(
        "--seed", type=int, default=env("FEED_SEED", "42"), help="synthetic seed (default 42)"
    )
    parser.add_argument(
        "--date",
        default=env("FEED_DATE") or None,
        help="day used in keys and generated dates (YYYY-MM-DD; default FEED_DATE, else today UTC)",
    )
    parser.add_argument(
        "--manifest",
        type=Path,
        help="where to write the feed's manifest (default: beside --outputs, timestamped)",
    )
    parser.add_argument(
        "--report-wait",
        type=float,
        default=env("REPORT_WAIT", "180"),
        metavar="SECONDS",
        help="wait up to SECONDS until every file is accounted for (default 180, or REPORT_WAIT)",
    )


def run_demo(args: argparse.Namespace) -> int:
    """Feed files into the deployed raw bucket, then account for each one."""
    raw_bucket = setting(None, read_outputs(args.outputs), "raw_bucket", "--outputs")
    now = dt.datetime.now(dt.UTC)
    manifest = args.manifest or args.outputs.parent / f"manifest-{now:%Y%m%dT%H%M%S}.json"
    argv = ["--source", args.source, "--files", str(args.files), "--bucket", raw_bucket]
    argv += ["--date", args.date or now.date().isoformat(), "--manifest", str(manifest)]
    argv += ["--seed", str(args.seed)]
    parser = argparse.ArgumentParser(prog="headwater ingest feed")
    feed.add_arguments(parser)
    step(f"feeding {args.files} files from the {args.source} source")
    feed.run(parser.parse_args(argv))
    step("waiting until every file is accounted for")
    return summarize(manifest, args.outputs, args.report_wait)
