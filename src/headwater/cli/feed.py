"""``headwater feed``: generate or fetch files and put them into the raw bucket."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

from headwater.cli.errors import CommandError
from headwater.feed import registry
from headwater.feed.model import FeedFile
from headwater.feed.upload import (
    DirectorySink,
    S3Sink,
    Sink,
    UploadError,
    manifest_document,
    upload_all,
    write_manifest,
)
from headwater.progress import ProgressBar

BUCKET_ENV = "HEADWATER_RAW_BUCKET"


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1: {text!r}")
    return value


HELP = "send generated or fetched files into the raw bucket"
DESCRIPTION = (
    "Generate (synthetic) or fetch (spotify) dataset files, upload them under the ingest root of "
    "the raw bucket, and write a manifest of what the processor should do with each file."
)


def register(subparsers: Any) -> None:
    """``headwater feed`` (also ``headwater ingest feed``, registered by cli/ingest.py)."""
    add_arguments(subparsers.add_parser("feed", help=HELP, description=DESCRIPTION))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--source", default="synthetic", choices=registry.source_names(), help="default synthetic"
    )
    parser.add_argument("--files", type=_positive, metavar="N", help="number of files (default 30)")
    parser.add_argument(
        "--rows", type=_positive, default=100, metavar="N", help="rows per file (default 100)"
    )
    parser.add_argument(
        "--date",
        type=_date,
        default=dt.datetime.now(dt.UTC).date(),
        metavar="YYYY-MM-DD",
        help="day used in keys and generated dates (default today, UTC)",
    )
    target = parser.add_argument_group("target")
    target.add_argument("--bucket", help=f"raw bucket name (default: env {BUCKET_ENV})")
    target.add_argument("--prefix", default="ingest/", help="ingest root prefix (default ingest/)")
    target.add_argument(
        "--endpoint-url", metavar="URL", help="S3 endpoint (default: AWS_ENDPOINT_URL)"
    )
    target.add_argument("--workers", type=_positive, default=8, help="parallel uploads (default 8)")
    target.add_argument(
        "--manifest", type=Path, metavar="PATH", help="write the manifest JSON here"
    )
    target.add_argument(
        "--dry-run", action="store_true", help="write files under --out instead of uploading"
    )
    target.add_argument(
        "--out", type=Path, metavar="DIR", help="dry-run directory (default <state dir>/feed-out)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    for plugin in registry.plugins():
        plugin.add_arguments(parser.add_argument_group(f"{plugin.name} source", plugin.help))
    parser.set_defaults(func=run)


def _state_dir() -> Path:
    return Path(os.environ.get("HEADWATER_STATE_DIR") or ".headwater")


def _s3_client(endpoint_url: str | None) -> Any:
    from headwater import aws

    return aws.client("s3", endpoint_url or None)


def _sink(args: argparse.Namespace) -> tuple[Sink, Path | None]:
    if args.dry_run:
        out = args.out or _state_dir() / "feed-out"
        return DirectorySink(out), args.manifest or out / "manifest.json"
    bucket = args.bucket or os.environ.get(BUCKET_ENV)
    if not bucket:
        raise CommandError(f"no raw bucket: pass --bucket NAME or set {BUCKET_ENV}")
    try:
        client = _s3_client(args.endpoint_url)
    except Exception as exc:  # botocore raises ValueError for a malformed endpoint URL
        raise CommandError(f"cannot create an S3 client: {exc}") from exc
    return S3Sink(client, bucket), args.manifest


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time of the record (run() may be called again
    after stderr was replaced, e.g. by tests capturing output)."""

    @property  # type: ignore[override]
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def _configure_logging(quiet: bool) -> None:
    # Sources log retries as warnings; show them as plain lines (never containing secrets).
    logger = logging.getLogger("headwater.feed")
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("headwater feed: %(message)s"))
        logger.addHandler(handler)
        logger.propagate = False
    logger.setLevel(logging.ERROR if quiet else logging.WARNING)


def run(args: argparse.Namespace) -> int:
    _configure_logging(args.quiet)
    try:
        source = registry.get_source(args.source).build(args)
    except registry.SourceError as exc:
        raise CommandError(str(exc)) from exc
    sink, manifest_path = _sink(args)
    prefix = args.prefix
    started = time.monotonic()
    with ProgressBar(source.total, label="feed", quiet=args.quiet) as bar:
        try:
            entries = upload_all(
                _checked(source.files()),
                sink,
                prefix,
                workers=args.workers,
                on_done=lambda _entry: bar.advance(),
            )
        except UploadError as exc:
            raise CommandError(str(exc)) from exc
        except _SourceFailure as exc:
            raise CommandError(f"source {args.source!r} failed: {exc}") from exc
    document = manifest_document(
        entries,
        source=args.source,
        target=sink.target + prefix.strip("/") + ("/" if prefix.strip("/") else ""),
        prefix=prefix,
        seed=getattr(args, "seed", None) if args.source == "synthetic" else None,
    )
    if manifest_path:
        try:
            write_manifest(manifest_path, document)
        except OSError as exc:
            raise CommandError(
                f"cannot write the manifest {manifest_path}: {exc.strerror}"
            ) from exc
    if not args.quiet:
        totals = document["totals"]
        print(
            f"fed {totals['files']} files to {document['target']} in "
            f"{time.monotonic() - started:.1f}s: {totals['curated']} expected curated "
            f"({totals['rows']} rows), {totals['quarantined']} expected quarantined"
        )
        if manifest_path:
            print(f"manifest: {manifest_path}")
    return 0


class _SourceFailure(Exception):
    """A source raised while producing files (network, API); wrapped to tell it from S3."""


def _checked(files: Any) -> Any:
    """Re-raise source errors as _SourceFailure so the CLI can name the failing side."""
    iterator = iter(files)
    while True:
        try:
            feed_file: FeedFile = next(iterator)
        except StopIteration:
            return
        except Exception as exc:
            raise _SourceFailure(str(exc)) from exc
        yield feed_file
