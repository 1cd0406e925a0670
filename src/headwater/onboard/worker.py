"""The worker: one work message -> part of one table (one key range) landed as Parquet parts.

Per message:

1. the table must be declared (``Source.table``, ``UndeclaredTable`` otherwise) and be a table
   of that run in the state table (``Rejected`` otherwise): a forged message reads nothing;
2. a step already done (``seq`` below the range's) is ignored, unless its continuation was never
   sent (the worker stopped between its checkpoint and the send): then it is sent now;
3. past ``max_attempts`` deliveries the table is failed (the caller puts the message on the DLQ);
4. the range's lease is taken (one invocation per range at a time), rows are streamed from the
   checkpointed keyset position into a ``PartWriter`` numbering its parts from the checkpoint's
   ``next_part``; when the time left falls under the reserve, the current part is closed, the
   position, next part and counts are checkpointed, and the continuation (``seq + 1``) is sent;
5. the table's last range done: ``_manifest.json`` is written, parts of failed attempts under
   the run's prefix that the manifest does not list are deleted, the mark advances (incremental),
   the table is counted into its run, and the caller that completes the run writes the run
   summary and puts the ``Onboard Run Completed`` event.

A step that fails leaves its parts behind; the retry starts again from the last checkpoint and
overwrites them under the same numbers, and the manifest lists only the parts checkpointed.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from headwater.onboard import marks, positions
from headwater.onboard.messages import WorkMessage
from headwater.onboard.runs import FINAL, RunStore, plain

EVENT_SOURCE = "headwater.onboard"
DETAIL_TYPE = "Onboard Run Completed"
MANIFEST = "_manifest.json"


class Rejected(ValueError):
    """A message that names no table of an existing run: nothing is read for it."""


@dataclass
class Ports:
    """What the worker writes to: the state table, the object store and three senders."""

    state: Any  # boto3 DynamoDB Table resource
    store: Any  # put_file, put_bytes, list, delete, get_bytes
    send_work: Callable[[str], None]
    send_dlq: Callable[[str], None]
    put_event: Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class Config:
    part_bytes: int = 134_217_728
    max_attempts: int = 3
    retention_days: int = 30
    batch_rows: int = 65_536
    # Time kept back when streaming: closing and uploading the current part, the checkpoint and
    # the continuation must fit in it.
    reserve_ms: int = 60_000
    secrets: tuple[str, ...] = field(default=(), repr=False)


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def error_text(exc: BaseException, secrets: Iterable[str]) -> str:
    return redact(f"{type(exc).__name__}: {exc}", secrets)[:1000]


def table_prefix(source: Any, table: str, run_id: str) -> str:
    return f"{source.target_prefix}{table}/run={run_id}/"


def part_key(prefix: str, number: int) -> str:
    return f"{prefix}part-{number:05d}.parquet"


def summary_key(source: Any, run_id: str) -> str:
    return f"{source.target_prefix}_runs/run={run_id}/summary.json"


@dataclass(frozen=True)
class Outcome:
    """What one message did: ``action`` is continued | range_done | table_done | failed |
    stale | resent | ignored; ``run_completed`` for the one caller that completed the run."""

    action: str
    rows: int = 0
    parts: int = 0
    run_completed: bool = False


def _default_writer(store: Any, prefix: str, target_bytes: int, first_part: int) -> Any:
    from headwater.onboard.parts import PartWriter

    return PartWriter(store, prefix, target_bytes, first_part=first_part)


def _max(a: Any, b: Any) -> Any:
    if a is None:
        return b
    if b is None:
        return a
    return b if b > a else a


def process(
    message: WorkMessage,
    *,
    source: Any,
    extractor: Callable[[], Any],
    ports: Ports,
    config: Config,
    remaining_ms: Callable[[], int],
    receive_count: int = 1,
    lease_id: str | None = None,
    writer_factory: Callable[..., Any] = _default_writer,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    log: Any = None,
) -> Outcome:
    """Handle one work message (see the module's docstring). ``extractor`` opens the source
    only when rows are to be read."""
    if message.source != source.name:
        raise Rejected(f"message for source {message.source!r} given source {source.name!r}")
    decl = source.table(message.table)  # UndeclaredTable for a table not declared
    runs = RunStore(ports.state, source.name, retention_days=config.retention_days, clock=clock)
    run_id, name, index = message.run_id, message.table, message.range
    table_item = runs.get_table(run_id, name)
    range_item = runs.get_range(run_id, name, index)
    if table_item is None or range_item is None or int(table_item["ranges"]) != message.ranges:
        raise Rejected(f"no range {index} of {message.ranges} of {name} in run {run_id}")
    if table_item["status"] in FINAL:
        # Counted already, or a crash before counting: finishing is idempotent.
        completed = _count_and_complete(runs, source, run_id, name, ports, log)
        return Outcome("ignored", run_completed=completed)
    if range_item["status"] == "done":
        completed = _finish_table_if_ready(
            runs, source, decl, run_id, name, index, ports, clock, log
        )
        return Outcome("range_done", run_completed=completed)
    seq = int(range_item["seq"])
    if message.seq < seq:
        if message.seq == seq - 1 and not range_item.get("sent"):
            ports.send_work(
                WorkMessage(run_id, source.name, name, index, message.ranges, seq).body()
            )
            runs.mark_sent(run_id, name, index, seq)
            return Outcome("resent")
        return Outcome("stale")
    if message.seq > seq:
        raise Rejected(f"{name} range {index}: step {message.seq} is ahead of the state ({seq})")
    if receive_count > config.max_attempts:
        error = range_item.get("last_error") or f"gave up after {config.max_attempts} attempts"
        completed = _fail_table(runs, source, run_id, name, error, ports, log)
        ports.send_dlq(message.body())
        return Outcome("failed", run_completed=completed)

    lease = lease_id or uuid.uuid4().hex
    runs.claim(run_id, name, index, seq, lease, max(remaining_ms(), 1000) / 1000.0)
    try:
        return _extract(
            message, decl, table_item, range_item, runs, lease,
            source=source, extractor=extractor, ports=ports, config=config,
            remaining_ms=remaining_ms, writer_factory=writer_factory, clock=clock, log=log,
        )  # fmt: skip
    except BaseException as exc:
        runs.release(run_id, name, index, lease, error_text(exc, config.secrets))
        raise


def _extract(
    message: WorkMessage,
    decl: Any,
    table_item: dict[str, Any],
    range_item: dict[str, Any],
    runs: RunStore,
    lease: str,
    *,
    source: Any,
    extractor: Callable[[], Any],
    ports: Ports,
    config: Config,
    remaining_ms: Callable[[], int],
    writer_factory: Callable[..., Any],
    clock: Callable[[], datetime],
    log: Any,
) -> Outcome:
    started = time.monotonic()
    run_id, name, index = message.run_id, message.table, message.range
    reader = extractor()
    plan = reader.describe(decl)
    key_columns = list(plan.key)
    cursor = decl.cursor if decl.mode == "incremental" else None
    if cursor is not None and cursor not in plan.arrow_schema.names:
        raise ValueError(f"{name}: the cursor column {cursor!r} is not among the columns read")
    key_range = None
    if message.ranges > 1:
        key_range = (
            positions.decode_value(range_item.get("lo")),
            positions.decode_value(range_item.get("hi")),
        )
    after = positions.decode(range_item.get("after"))
    since = positions.decode_value(table_item.get("since"))
    prefix = table_prefix(source, name, run_id)
    writer = writer_factory(ports.store, prefix, config.part_bytes, int(range_item["next_part"]))
    max_cursor = positions.decode_value(range_item.get("max_cursor"))
    rows, last_key, exhausted = 0, None, True
    batches = reader.stream(
        plan, after=after, key_range=key_range, since=since, batch_rows=config.batch_rows
    )
    try:
        for batch in batches:
            if batch.num_rows == 0:
                continue
            writer.write(batch)
            rows += batch.num_rows
            last_key = tuple(batch.column(k)[batch.num_rows - 1].as_py() for k in key_columns)
            if cursor is not None:
                import pyarrow.compute as pc

                max_cursor = _max(max_cursor, pc.max(batch.column(cursor)).as_py())
            if remaining_ms() < config.reserve_ms:
                exhausted = False
                break
    finally:
        close = getattr(batches, "close", None)
        if callable(close):
            close()
    written = writer.finish()
    first = int(range_item["next_part"])
    parts = [[first + i, int(p.rows), int(p.bytes)] for i, p in enumerate(written)]
    schema = [{"name": f.name, "type": str(f.type)} for f in plan.arrow_schema]
    runs.checkpoint(
        run_id, name, index, lease,
        seq=message.seq, done=exhausted, after=positions.encode(last_key),
        parts=parts, rows=rows, nbytes=sum(p[2] for p in parts),
        seconds=time.monotonic() - started,
        max_cursor=positions.encode_value(max_cursor), schema=schema,
    )  # fmt: skip
    if not exhausted:
        ports.send_work(message.next().body())
        runs.mark_sent(run_id, name, index, message.seq + 1)
        if log is not None:
            log.info(
                "onboard: step checkpointed, continuing",
                extra={"table": name, "range": index, "seq": message.seq, "rows": rows},
            )
        return Outcome("continued", rows=rows, parts=len(parts))
    completed = _finish_table_if_ready(runs, source, decl, run_id, name, index, ports, clock, log)
    return Outcome("range_done", rows=rows, parts=len(parts), run_completed=completed)


def _finish_table_if_ready(
    runs: RunStore,
    source: Any,
    decl: Any,
    run_id: str,
    name: str,
    index: int,
    ports: Ports,
    clock: Callable[[], datetime],
    log: Any,
) -> bool:
    done, total = runs.range_done(run_id, name, index)
    if done < total:
        return False
    table_item = runs.get_table(run_id, name)
    assert table_item is not None
    if table_item["status"] in FINAL:
        return _count_and_complete(runs, source, run_id, name, ports, log)
    ranges = runs.ranges(run_id, name)
    prefix = table_prefix(source, name, run_id)
    files = [
        {"key": part_key(prefix, int(n)), "rows": int(r), "bytes": int(b)}
        for item in ranges
        for n, r, b in item["parts"]
    ]
    rows = sum(f["rows"] for f in files)
    nbytes = sum(f["bytes"] for f in files)
    seconds = sum(float(item.get("seconds", 0)) for item in ranges)
    mark = None
    for item in ranges:
        mark = _max(mark, positions.decode_value(item.get("max_cursor")))
    schema = next((plain(i["schema"]) for i in ranges if i.get("schema")), [])
    manifest = {
        "source": source.name,
        "table": name,
        "run_id": run_id,
        "mode": decl.mode,
        "rows": rows,
        "files": files,
        "bytes": nbytes,
        "seconds": round(seconds, 3),
        "schema": schema,
        "mark": None if mark is None else _json_value(mark),
        "since": None
        if table_item.get("since") is None
        else _json_value(positions.decode_value(table_item["since"])),
    }
    ports.store.put_bytes(
        prefix + MANIFEST, json.dumps(manifest, indent=2).encode(), "application/json"
    )
    listed = {f["key"] for f in files} | {prefix + MANIFEST}
    stale = [key for key in ports.store.list(prefix) if key not in listed]
    if stale:
        ports.store.delete(stale)
        if log is not None:
            log.info(
                "onboard: parts of failed attempts deleted",
                extra={"table": name, "count": len(stale)},
            )
    if decl.mode == "incremental" and mark is not None:
        marks.advance(runs.table, source.name, name, mark, run_id)
    runs.finish_table(
        run_id, name, succeeded=True, rows=rows, files=len(files), nbytes=nbytes,
        seconds=seconds, mark=positions.encode_value(mark),
    )  # fmt: skip
    if log is not None:
        log.info(
            "onboard: table landed",
            extra={"table": name, "rows": rows, "files": len(files), "bytes": nbytes},
        )
    return _count_and_complete(runs, source, run_id, name, ports, log)


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (int, float, str)) or value is None:
        return value
    return str(value)


def _fail_table(
    runs: RunStore, source: Any, run_id: str, name: str, error: str, ports: Ports, log: Any
) -> bool:
    runs.finish_table(run_id, name, succeeded=False, error=error)
    if log is not None:
        log.error("onboard: table failed", extra={"table": name, "error": error})
    return _count_and_complete(runs, source, run_id, name, ports, log)


def _count_and_complete(
    runs: RunStore, source: Any, run_id: str, name: str, ports: Ports, log: Any
) -> bool:
    """Count the (final) table into its run; report the run if this completed it, or if a
    caller completed it and stopped before reporting."""
    table_item = runs.get_table(run_id, name)
    assert table_item is not None and table_item["status"] in FINAL
    run = runs.count_table(run_id, table_item)
    finished = len(run.get("finished", ()))
    if finished < int(run["tables_total"]):
        return False
    completed = runs.complete(run_id)
    if completed or (run["status"] == "completed" and not run.get("reported")):
        report_run(runs, source, run_id, ports, log)
    return completed


def run_summary(runs: RunStore, source: Any, run_id: str) -> dict[str, Any]:
    run = plain(runs.get_run(run_id) or {})
    tables = []
    for item in sorted(runs.tables(run_id), key=lambda i: i["table"]):
        tables.append(
            {
                "table": item["table"],
                "status": item["status"],
                "mode": item.get("mode"),
                "rows": int(item.get("rows", 0)),
                "files": int(item.get("files", 0)),
                "bytes": int(item.get("bytes", 0)),
                "seconds": float(item.get("seconds", 0)),
                "error": item.get("error"),
            }
        )
    return {
        "source": source.name,
        "run_id": run_id,
        "status": run.get("status"),
        "scheduled_time": run.get("scheduled_time"),
        "created_at": run.get("created_at"),
        "completed_at": run.get("completed_at"),
        "tables": tables,
        "succeeded": sum(t["status"] == "succeeded" for t in tables),
        "failed": sum(t["status"] == "failed" for t in tables),
        "rows": sum(t["rows"] for t in tables),
        "files": sum(t["files"] for t in tables),
        "bytes": sum(t["bytes"] for t in tables),
    }


def report_run(runs: RunStore, source: Any, run_id: str, ports: Ports, log: Any) -> None:
    """Write the run summary and put the completion event (a retry may do it again)."""
    summary = run_summary(runs, source, run_id)
    ports.store.put_bytes(
        summary_key(source, run_id), json.dumps(summary, indent=2).encode(), "application/json"
    )
    detail = {
        "source": source.name,
        "run_id": run_id,
        "tables": len(summary["tables"]),
        "succeeded": summary["succeeded"],
        "failed": summary["failed"],
        "rows": summary["rows"],
        "files": summary["files"],
        "bytes": summary["bytes"],
        "failures": [
            {"table": t["table"], "error": t["error"] or "failed"}
            for t in summary["tables"]
            if t["status"] == "failed"
        ],
    }
    ports.put_event(detail)
    runs.mark_reported(run_id)
    if log is not None:
        log.info("onboard: run completed", extra=detail)
