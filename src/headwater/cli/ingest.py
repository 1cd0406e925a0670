"""``headwater ingest feed|summary|demo``: the ingest capability from the command line.

``summary`` accounts for every file a feed sent (``--manifest``: the ledger lives in
``headwater.ingest.summary``) or every raw object version under a prefix in a time window
(``--prefix --since``: ``headwater.ingest.audit``); this module only parses, waits and prints.
``headwater summary`` is the same command under its original spelling.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from headwater.cli import feed
from headwater.cli.errors import CommandError, UsageError
from headwater.cli.outputs import read_outputs, setting
from headwater.ingest import audit
from headwater.ingest.summary import Ledger, Places, render, wait_for
from headwater.progress import ProgressBar, step

SUMMARY_HELP = (
    "account for every file a feed sent, or every raw version under a prefix in a time window"
)


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
    parser.description = (
        "Account for raw files: those a feed sent (--manifest), or every raw object version "
        "under a prefix uploaded in a time window (--prefix, --since): curated, quarantined "
        "(with the rule), in a DLQ, in flight, or not accounted for (each one named)."
    )
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--manifest", type=Path, help="the feeder's manifest JSON")
    mode.add_argument(
        "--prefix",
        help="raw key prefix to account for, e.g. ingest/sales/ (every version under it)",
    )
    parser.add_argument(
        "--since",
        type=parse_time,
        metavar="TIME",
        help="with --prefix: versions uploaded at or after TIME (ISO 8601 date or time, UTC when "
        "no offset is given, or an age such as 90m, 6h, 2d)",
    )
    parser.add_argument(
        "--until",
        type=parse_time,
        metavar="TIME",
        help="with --prefix: versions uploaded before TIME (default now)",
    )
    parser.add_argument(
        "--grace",
        type=_seconds,
        metavar="SECONDS",
        help="with --prefix: a version younger than this with no outcome yet is in flight, an "
        f"older one is not accounted for (default {int(audit.DEFAULT_GRACE.total_seconds())})",
    )
    parser.add_argument(
        "--outputs",
        type=Path,
        help="`terraform output -json` of the environment (default: the local environment's)",
    )
    parser.add_argument(
        "--wait",
        type=_seconds,
        metavar="SECONDS",
        help="seconds to wait for files still in flight (default 120 with --manifest, 0 with "
        "--prefix)",
    )
    parser.set_defaults(func=_summary)


def parse_time(text: str, now: dt.datetime | None = None) -> dt.datetime:
    """``2026-11-20``, ``2026-11-20T08:00``, ``...+02:00`` (UTC without an offset), or an age
    before now: ``45s``, ``90m``, ``6h``, ``2d``, ``1w``."""
    now = now or dt.datetime.now(dt.UTC)
    age = re.fullmatch(r"(\d+)([smhdw])", text.strip())
    if age:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
        return now - dt.timedelta(**{unit[age.group(2)]: int(age.group(1))})
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither an ISO 8601 date or time nor an age such as 90m, 6h or 2d"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds (0 or more)")
    return value


def _summary(args: argparse.Namespace) -> int:
    if args.manifest is not None:
        unused = [f"--{n}" for n in ("since", "until", "grace") if getattr(args, n) is not None]
        if unused:
            raise UsageError(f"{', '.join(unused)} go with --prefix, not --manifest")
        wait = 120.0 if args.wait is None else args.wait
        return summarize(args.manifest, args.outputs, wait)
    if args.since is None:
        raise UsageError("--prefix needs --since (e.g. --since 6h or --since 2026-11-20)")
    until = args.until or dt.datetime.now(dt.UTC)
    grace = audit.DEFAULT_GRACE if args.grace is None else dt.timedelta(seconds=args.grace)
    try:
        window = audit.Window(args.prefix, args.since, until)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    return summarize_window(window, args.outputs, grace, args.wait or 0.0)


def summarize_window(
    window: audit.Window, outputs_path: Path | None, grace: dt.timedelta, wait: float
) -> int:
    """Account for every raw version in ``window``, print the table and every version not
    settled; 0 only when none is in flight or unaccounted."""
    from headwater.aws import client

    outputs = read_outputs(outputs_path)
    try:
        places = Places.from_outputs(outputs)
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    ledger = audit.Audit(
        raw_bucket=places.raw_bucket,
        curated_bucket=places.curated_bucket,
        quarantine_bucket=places.quarantine_bucket,
        dlq_urls=tuple(filter(None, (places.dlq_url, places.delivery_dlq_url))),
        window=window,
        ingest_prefix=outputs.get("key_prefix") or "ingest/",
        grace=grace,
    )
    s3, sqs = client("s3"), client("sqs")
    ledger.run(s3, sqs)
    if wait:
        ledger.wait(s3, sqs, wait)
    print(audit.render(ledger))
    missing, pending = ledger.counts[audit.UNACCOUNTED], ledger.counts[audit.PENDING]
    if missing or pending:
        print(f"\n{missing} version(s) not accounted for, {pending} still in flight")
        return 1
    return 0


def summarize(manifest_path: Path, outputs_path: Path | None, wait: float) -> int:
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
