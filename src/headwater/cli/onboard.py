"""``headwater onboard run|status``: land a database source's tables in S3 now, and report runs.

``run`` invokes the environment's dispatcher (Terraform output
``onboard_dispatcher_function_name``) with the event its schedule sends,
``{"source": ..., "scheduled_time": <now>}``, then waits for the run to complete: the workers
consume the work queue on their own (the local mode's runner, or Lambda's event source mapping
on AWS), so the command only watches. While it waits it prints one progress line from the state
table (``onboard_state_table_name``: tables finished and failed); once the run summary
(``<target_prefix>_runs/run=<run id>/summary.json`` in ``onboard_bucket_name``) is there it prints
a table of rows, files, bytes, seconds and status per table, read from each table's manifest.
``status`` prints the same table for the latest run of a source (the run index in the state
table) or a given one.

Exit codes: 0 the run completed without failures, 1 a table failed (or the command did), 2 a
usage error, 3 the run did not complete within ``--wait`` seconds (``run``) or is still running
(``status``).

The demo step (``./setup.sh run``, ENV=local) starts the local PostgreSQL, creates the demo
schema once (``ONBOARD_DEMO_ROWS`` rows in public.events, default 2,000,000), writes the
connection's secret value into the emulator's Secrets Manager (output
``onboard_demo_secret_arn``) and runs the ``demo`` source. For dev and prod it only prints how to
run a source.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

from headwater.cli import localenv, outputs
from headwater.cli.errors import CommandError, UsageError
from headwater.progress import format_duration, step

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_TIMEOUT = 0, 1, 2, 3
DISPATCHER_OUTPUT = "onboard_dispatcher_function_name"
STATE_TABLE_OUTPUT = "onboard_state_table_name"
BUCKET_OUTPUT = "onboard_bucket_name"
SECRET_OUTPUT = "onboard_demo_secret_arn"  # noqa: S105 (an output name)
DEMO_SOURCE = "demo"
DEFAULT_WAIT = 900.0
POLL_SECONDS = 2.0
DEFAULT_DEMO_ROWS = 2_000_000
DEMO_ROWS_ENV = "ONBOARD_DEMO_ROWS"
# Statuses a table ends in (the run's own record says "completed" once every table did).
FAILED = "failed"
FINISHED = frozenset({"succeeded", "done", "completed", "complete", FAILED})

# (function, event) -> (payload, error type or None), as records_summary's invoker.
Invoker = Callable[[str, dict[str, Any]], tuple[Any, str | None]]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "onboard",
        help="onboard: land a database source's tables in S3 now, and report runs",
        description="Commands of the onboard capability: `run` a declared source now (the "
        "dispatcher, as its schedule would) and wait for it; `status` of its latest run. "
        "Sources and tables are declared in src/headwater/datasets/onboard/.",
    )
    actions = parser.add_subparsers(dest="onboard_command", metavar="ACTION")
    run = actions.add_parser(
        "run",
        help="run a source now and print each table's rows, files, bytes, seconds and status",
        description="Invoke the dispatcher with {source, scheduled_time: now}, wait for the "
        "run to complete, print a table per onboarded table. Exit 0 when every table "
        "succeeded, 1 when one failed, 3 when the run did not complete within --wait.",
    )
    _source_argument(run)
    run.add_argument(
        "--wait",
        type=_seconds,
        default=DEFAULT_WAIT,
        metavar="SECONDS",
        help=f"how long to wait for the run to complete (default {DEFAULT_WAIT:.0f}; 0: do not "
        "wait, print the run id)",
    )
    run.add_argument(
        "--function",
        metavar="NAME",
        help=f"dispatcher function name or ARN (default: the {DISPATCHER_OUTPUT!r} output)",
    )
    outputs.add_arguments(run)
    run.set_defaults(func=run_command)
    status = actions.add_parser(
        "status",
        help="print the latest (or a given) run of a source",
        description="The per-table rows, files, bytes, seconds and status of a source's "
        "latest run, or of --run. Exit 0 when it completed without failures, 1 when a table "
        "failed, 3 when it is still running.",
    )
    _source_argument(status)
    status.add_argument("--run", metavar="ID", help="a run id (YYYYMMDDTHHMMSSZ; default latest)")
    outputs.add_arguments(status)
    status.set_defaults(func=status_command)
    parser.set_defaults(func=lambda _args: _usage(parser))


def _source_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--source",
        metavar="NAME",
        help="a declared source (default: the only one declared, e.g. demo)",
    )


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if value < 0 or value != value:  # NaN
        raise argparse.ArgumentTypeError(f"seconds must be 0 or more: {text!r}")
    return value


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return EXIT_USAGE


# ---- run ids and events ---------------------------------------------------------------------


def scheduled_time(now: datetime | None = None) -> str:
    """What the Scheduler puts for ``<aws.scheduler.scheduled-time>``: UTC, whole seconds."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%SZ")


def run_id_of(scheduled: str) -> str:
    """The run id the dispatcher derives from a scheduled time: ``YYYYMMDDTHHMMSSZ``."""
    return datetime.strptime(scheduled, "%Y-%m-%dT%H:%M:%SZ").strftime("%Y%m%dT%H%M%SZ")


def dispatcher_event(source: str, scheduled: str) -> dict[str, str]:
    return {"source": source, "scheduled_time": scheduled}


# ---- the sources ----------------------------------------------------------------------------


def declared_sources() -> dict[str, Any]:
    from headwater.onboard.declarations import load_sources

    try:
        return load_sources()
    except ValueError as exc:
        raise CommandError(f"onboard declarations: {exc}") from exc


def choose_source(name: str | None, sources: dict[str, Any]) -> Any:
    """The declared source named, or the only one; a usage error listing them otherwise."""
    known = ", ".join(sorted(sources)) or "none"
    if name is None:
        if len(sources) == 1:
            return next(iter(sources.values()))
        raise UsageError(f"give --source (declared: {known})")
    if name not in sources:
        raise UsageError(f"unknown source {name!r} (declared: {known})")
    return sources[name]


# ---- what a run looks like ------------------------------------------------------------------


@dataclass(frozen=True)
class TableResult:
    table: str
    status: str
    rows: int | None = None
    files: int | None = None
    bytes: int | None = None
    seconds: float | None = None
    error: str | None = None


@dataclass(frozen=True)
class RunView:
    source: str
    run_id: str
    complete: bool
    tables: tuple[TableResult, ...]
    summary: dict[str, Any] | None = None

    @property
    def failed(self) -> list[TableResult]:
        return [table for table in self.tables if table.status == FAILED]

    @property
    def finished(self) -> int:
        return sum(table.status in FINISHED for table in self.tables)


def _number(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _status(value: Any) -> str:
    return str(value).lower() if value else "pending"


def table_results(
    state_items: Iterable[dict[str, Any]],
    manifests: dict[str, dict[str, Any]],
    summary: dict[str, Any] | None,
) -> tuple[TableResult, ...]:
    """One result per table of the run, in name order.

    The table items of the state table (``sk = table#<schema.table>``) name the tables and their
    status (pending, succeeded, failed); a table's manifest, once written, is the authority on its
    rows, files, bytes and seconds; the run summary's tables give a failed table its error.
    """
    tables: dict[str, dict[str, Any]] = {}
    for item in state_items:
        sk = str(item.get("sk", ""))
        if not sk.startswith("table#") or "#range#" in sk:
            continue
        tables[sk.removeprefix("table#")] = item
    for name in manifests:
        tables.setdefault(name, {"status": "succeeded"})
    errors: dict[str, str] = {}
    # The summary's tables (its "tables" list) and the completion event's "failures" shape.
    listed = (summary or {}).get("tables")
    entries = [*(listed if isinstance(listed, list) else []), *(summary or {}).get("failures", [])]
    for entry in entries:
        if not isinstance(entry, dict) or not entry.get("table"):
            continue
        name = str(entry["table"])
        if entry.get("status", FAILED) == FAILED:
            errors[name] = str(entry.get("error") or "")
        tables.setdefault(
            name, {key: entry.get(key) for key in ("status", "rows", "files", "bytes", "seconds")}
        )
    results = []
    for name in sorted(tables):
        item, manifest = tables[name], manifests.get(name)
        status = _status(item.get("status"))
        if name in errors:
            status = FAILED
        elif manifest is not None and status not in FINISHED:
            status = "succeeded"
        source = manifest if manifest is not None else item
        files = source.get("files")
        results.append(
            TableResult(
                table=name,
                status=status,
                rows=_number(source.get("rows")),
                files=len(files) if isinstance(files, list) else _number(files),
                bytes=_number(source.get("bytes")),
                seconds=_float(source.get("seconds")),
                error=errors.get(name) or (str(item["error"]) if item.get("error") else None),
            )
        )
    return tuple(results)


def human_bytes(value: int | None) -> str:
    if value is None:
        return "-"
    size = float(value)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} TB"  # pragma: no cover (the loop returns at GB)


def render_table(view: RunView) -> str:
    """The per-table report: rows, files, bytes, seconds, status; a total line; errors below."""

    def count(value: int | None) -> str:
        return "-" if value is None else f"{value:,}"

    header = ("TABLE", "ROWS", "FILES", "BYTES", "SECONDS", "STATUS")
    lines = [
        (
            table.table,
            count(table.rows),
            count(table.files),
            human_bytes(table.bytes),
            "-" if table.seconds is None else f"{table.seconds:.1f}",
            table.status,
        )
        for table in view.tables
    ]

    def total(field: str) -> int | None:
        values = [getattr(t, field) for t in view.tables if getattr(t, field) is not None]
        return sum(values) if values else None

    state = "completed" if view.complete else "running"
    if view.failed:
        state += f", {len(view.failed)} failed"
    lines.append(
        (
            f"{len(view.tables)} table(s)",
            count(total("rows")),
            count(total("files")),
            human_bytes(total("bytes")),
            "",
            state,
        )
    )
    widths = [max(len(row[i]) for row in [header, *lines]) for i in range(len(header))]
    numeric = {1, 2, 3, 4}

    def fmt(row: tuple[str, ...]) -> str:
        cells = [
            cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        return "  ".join(cells).rstrip()

    out = [f"run {view.run_id} of source {view.source}: {state}", fmt(header)]
    out += [fmt(row) for row in lines[:-1]]
    out.append("-" * len(fmt(header)))
    out.append(fmt(lines[-1]))
    for table in view.failed:
        out.append(f"  {table.table}: {table.error or 'failed (see the worker log)'}")
    return "\n".join(out)


def progress_line(view: RunView, elapsed: float) -> str:
    failed = f", {len(view.failed)} failed" if view.failed else ""
    total = len(view.tables)
    rows = sum(t.rows or 0 for t in view.tables)
    return (
        f"run {view.run_id}: {view.finished}/{total or '?'} table(s) finished{failed}, "
        f"{rows:,} rows so far, {format_duration(elapsed)}"
    )


def exit_code(view: RunView) -> int:
    if not view.complete:
        return EXIT_TIMEOUT
    return EXIT_FAILED if view.failed or _number((view.summary or {}).get("failed")) else EXIT_OK


# ---- reading a run from the environment -----------------------------------------------------


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    return {name: deserializer.deserialize(value) for name, value in item.items()}


def _query(dynamodb: Any, table: str, pk: str, **extra: Any) -> list[dict[str, Any]]:
    from botocore.exceptions import BotoCoreError, ClientError

    items: list[dict[str, Any]] = []
    try:
        pages = dynamodb.get_paginator("query").paginate(
            TableName=table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": pk}},
            **extra,
        )
        for page in pages:
            items += [_plain(item) for item in page.get("Items", [])]
            if extra.get("Limit") and items:
                break
    except (ClientError, BotoCoreError) as exc:
        raise CommandError(f"cannot read the state table {table}: {exc}") from exc
    return items


def _get_json(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
            return None
        raise CommandError(f"cannot read s3://{bucket}/{key}: {exc}") from exc
    except BotoCoreError as exc:
        raise CommandError(f"cannot read s3://{bucket}/{key}: {exc}") from exc
    try:
        value = json.loads(body)
    except ValueError as exc:
        raise CommandError(f"s3://{bucket}/{key} is not JSON: {exc}") from exc
    return value if isinstance(value, dict) else None


def summary_key(target_prefix: str, run_id: str) -> str:
    return f"{target_prefix}_runs/run={run_id}/summary.json"


def manifest_key(target_prefix: str, table: str, run_id: str) -> str:
    return f"{target_prefix}{table}/run={run_id}/_manifest.json"


@dataclass
class RunReader:
    """Reads one source's runs: the state table for progress, S3 for manifests and summary."""

    source: str
    target_prefix: str
    state_table: str
    bucket: str
    dynamodb: Any
    s3: Any

    def latest_run(self) -> str | None:
        items = _query(
            self.dynamodb, self.state_table, f"runs#{self.source}", ScanIndexForward=False, Limit=1
        )
        return str(items[0]["sk"]) if items else None

    def view(self, run_id: str) -> RunView:
        items = _query(self.dynamodb, self.state_table, f"run#{self.source}#{run_id}")
        summary = _get_json(self.s3, self.bucket, summary_key(self.target_prefix, run_id))
        results = table_results(items, {}, summary)
        manifests = {}
        for table in results:
            # A manifest exists once a table has finished: only those are worth a request.
            if table.status in FINISHED or summary is not None:
                found = _get_json(
                    self.s3, self.bucket, manifest_key(self.target_prefix, table.table, run_id)
                )
                if found is not None:
                    manifests[table.table] = found
        return RunView(
            source=self.source,
            run_id=run_id,
            complete=summary is not None,
            tables=table_results(items, manifests, summary),
            summary=summary,
        )


def reader_for(args: argparse.Namespace, found: dict[str, Any]) -> RunReader:
    from headwater import aws

    source = choose_source(args.source, declared_sources())
    return RunReader(
        source=source.name,
        target_prefix=source.target_prefix,
        state_table=outputs.setting(None, found, STATE_TABLE_OUTPUT, "--outputs"),
        bucket=outputs.setting(None, found, BUCKET_OUTPUT, "--outputs"),
        dynamodb=aws.client("dynamodb"),
        s3=aws.client("s3"),
    )


def wait_for_run(
    reader: RunReader,
    run_id: str,
    wait: float,
    stream: TextIO | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> RunView:
    """Poll until the run's summary is there or ``wait`` seconds have passed; one progress line
    (redrawn on a terminal, printed when it changes otherwise)."""
    stream = stream if stream is not None else sys.stderr
    tty = bool(getattr(stream, "isatty", lambda: False)())
    started = clock()
    last = ""
    while True:
        view = reader.view(run_id)
        elapsed = clock() - started
        if view.complete or elapsed >= wait:
            if tty and last:
                stream.write("\n")
            return view
        line = progress_line(view, elapsed)
        if tty:
            stream.write(f"\r{line}\x1b[K")
            stream.flush()
        else:
            # Without the clock: a line per change, not one per poll.
            shown = line.rsplit(", ", 1)[0]
            if shown != last.rsplit(", ", 1)[0]:
                stream.write(line + "\n")
                stream.flush()
        last = line
        sleep(min(POLL_SECONDS, max(0.0, wait - elapsed)))


# ---- commands -------------------------------------------------------------------------------


def dispatch(function: str, event: dict[str, str], invoke: Invoker | None = None) -> str:
    """Invoke the dispatcher; the run id (its answer's ``run_id``, else the scheduled time's)."""
    from headwater.cli import records_summary

    payload, error = (invoke or records_summary.default_invoker())(function, event)
    if error:
        message = payload.get("errorMessage") if isinstance(payload, dict) else payload
        kind = payload.get("errorType") if isinstance(payload, dict) else None
        raise CommandError(f"dispatcher {function} failed ({kind or error}): {message}")
    if isinstance(payload, dict) and payload.get("run_id"):
        return str(payload["run_id"])
    return run_id_of(event["scheduled_time"])


def run_source(
    args: argparse.Namespace,
    source: str,
    wait: float,
    found: dict[str, Any],
    invoke: Invoker | None = None,
) -> int:
    function = outputs.setting(
        getattr(args, "function", None), found, DISPATCHER_OUTPUT, "--function"
    )
    reader = reader_for(argparse.Namespace(source=source), found)
    event = dispatcher_event(reader.source, scheduled_time())
    step(f"onboarding source {reader.source}: invoking {function}")
    run_id = dispatch(function, event, invoke)
    if wait == 0:
        print(f"run {run_id} of source {reader.source} started")
        return EXIT_OK
    view = wait_for_run(reader, run_id, wait)
    print(render_table(view))
    if not view.complete:
        print(
            f"headwater: run {run_id} did not complete within {wait:.0f}s "
            f"(`headwater onboard status --source {reader.source} --run {run_id}` later)",
            file=sys.stderr,
        )
    return exit_code(view)


def run_command(args: argparse.Namespace, invoke: Invoker | None = None) -> int:
    found = outputs.from_args(args)
    source = choose_source(args.source, declared_sources()).name
    return run_source(args, source, args.wait, found, invoke)


def status_command(args: argparse.Namespace) -> int:
    reader = reader_for(args, outputs.from_args(args))
    run_id = args.run or reader.latest_run()
    if not run_id:
        raise CommandError(f"no run of source {reader.source} yet (`headwater onboard run`)")
    view = reader.view(run_id)
    if not view.tables and not view.complete:
        raise CommandError(f"no run {run_id} of source {reader.source}")
    print(render_table(view))
    return exit_code(view)


# ---- demo (./setup.sh run) ------------------------------------------------------------------


def add_demo_arguments(parser: argparse.ArgumentParser) -> None:
    env = os.environ.get
    parser.add_argument(
        "--onboard-rows",
        type=int,
        default=env(DEMO_ROWS_ENV, str(DEFAULT_DEMO_ROWS)),
        metavar="N",
        help=f"rows of the demo database's public.events (default {DEFAULT_DEMO_ROWS:,}, or "
        f"{DEMO_ROWS_ENV})",
    )
    parser.add_argument(
        "--onboard-wait",
        type=_seconds,
        default=env("ONBOARD_WAIT", str(DEFAULT_WAIT)),
        metavar="SECONDS",
        help=f"how long the demo waits for the run (default {DEFAULT_WAIT:.0f}, or ONBOARD_WAIT)",
    )


def run_demo(args: argparse.Namespace, invoke: Invoker | None = None) -> int:
    found = outputs.read_outputs(getattr(args, "outputs", None))
    if not found.get(DISPATCHER_OUTPUT):
        step("no onboard dispatcher in this environment: skipping the onboard demo")
        return EXIT_OK
    if not localenv.is_local():
        print("\nOnboard, run a declared source now and see its tables land in S3:")
        print("  ./setup.sh cli onboard run --source <name>   (then: onboard status)")
        return EXIT_OK
    secret_arn = found.get(SECRET_OUTPUT)
    if not secret_arn:
        raise CommandError(f"the outputs name no {SECRET_OUTPUT!r}: redeploy (./setup.sh deploy)")
    from headwater.cli import local_postgres
    from headwater.cli.onboard_demo import ensure_demo_database

    step("starting the local PostgreSQL of the onboard demo")
    server = local_postgres.ensure_running()
    secret = ensure_demo_database(server, args.onboard_rows)
    put_secret(secret_arn, secret)
    print("\nOnboard, the demo database's tables to Parquet on S3:")
    code = run_source(args, DEMO_SOURCE, args.onboard_wait, found, invoke)
    print("Again or later: ./setup.sh cli onboard run | ./setup.sh cli onboard status")
    return code


def put_secret(secret_arn: str, secret: dict[str, Any], client: Any = None) -> None:
    """The connection's JSON as the secret's current value (the password is never printed)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from headwater import aws

    client = client or aws.client("secretsmanager")
    try:
        client.put_secret_value(SecretId=secret_arn, SecretString=json.dumps(secret))
    except (ClientError, BotoCoreError) as exc:
        # The error names the secret, never its value.
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
        raise CommandError(f"cannot write the secret {secret_arn}: {code}") from None
