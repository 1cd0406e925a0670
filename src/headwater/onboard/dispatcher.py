"""The dispatcher: one scheduled fire -> one run, one work message per table (or key range).

Idempotent per scheduled time: the run id is the scheduled time (``messages.run_id_for``), the
table and range items are written only if absent and the run item last, so a re-fire or a
Scheduler DLQ replay finds the run and sends only the messages not sent yet (a dispatcher that
stopped half way); nothing already sent or finished is sent again.

Which tables: the ones named in the declaration plus the catalog's tables matched by its
``[[schemas]]`` patterns (``Source.resolve``). A table declared with ``ranges = N`` (a single
integer key) is split into N key ranges from its key's bounds: the first and last are open
ended, so rows added while the run goes are read too. An incremental table's run reads from
its mark minus the lookback window, fixed here for the whole run.

A run with no tables is recorded and completed at once (the dispatcher has no bucket or bus:
nothing else to report).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from headwater.onboard import marks, positions
from headwater.onboard.messages import DispatchRequest, WorkMessage
from headwater.onboard.runs import RangeSpec, RunStore


@dataclass(frozen=True)
class DispatchResult:
    run_id: str
    created: bool
    tables: int
    sent: int
    completed: bool


def split_ranges(lo: Any, hi: Any, count: int) -> list[RangeSpec]:
    """``count`` ranges of an integer key covering [lo, hi]: lo <= key < hi per range, the
    first and last open ended. An empty table (no bounds) or count 1 -> one unbounded range."""
    if count <= 1 or lo is None or hi is None:
        return [RangeSpec(0)]
    if isinstance(lo, bool) or not isinstance(lo, int) or not isinstance(hi, int):
        raise ValueError(f"ranges need a single integer key, the key's bounds are {lo!r}..{hi!r}")
    width = hi - lo + 1
    count = min(count, width)
    step = -(-width // count)
    cuts = [lo + step * i for i in range(1, count)]
    bounds = [None, *cuts, None]
    return [
        RangeSpec(
            i,
            positions.encode_value(bounds[i]),
            positions.encode_value(bounds[i + 1]),
        )
        for i in range(len(bounds) - 1)
    ]


def dispatch(
    request: DispatchRequest,
    *,
    source: Any,
    extractor: Any,
    state: Any,
    send: Callable[[str], None],
    retention_days: int = 30,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    log: Any = None,
) -> DispatchResult:
    """Create (or find) the run of ``request`` and send its work messages."""
    run_id = request.run_id
    runs = RunStore(state, source.name, retention_days=retention_days, clock=clock)
    existing = runs.get_run(run_id)
    created = False
    if existing is None:
        catalog: list[str] = []
        for schema in source.schemas:
            catalog += extractor.list_tables(schema.name)
        decls = source.resolve(catalog)
        for decl in decls:
            since = None
            if decl.mode == "incremental":
                since = marks.since(
                    marks.get(state, source.name, decl.qualified), decl.lookback_seconds
                )
            specs = [RangeSpec(0)]
            if decl.ranges and decl.ranges > 1:
                plan = extractor.describe(decl)
                lo, hi = extractor.key_bounds(plan)
                specs = split_ranges(lo, hi, decl.ranges)
            runs.create_table(
                run_id,
                decl.qualified,
                mode=decl.mode,
                since=positions.encode_value(since),
                ranges=specs,
            )
        created = runs.create_run(run_id, request.scheduled_time, len(decls))
    run = runs.get_run(run_id)
    assert run is not None
    total = int(run["tables_total"])
    if total == 0:
        completed = runs.complete(run_id)
        if log is not None:
            log.warning("onboard: run has no tables", extra={"run_id": run_id})
        return DispatchResult(run_id, created, 0, 0, completed)
    sent = 0
    for item in runs.ranges(run_id):
        if item["status"] != "pending" or int(item["seq"]) != 0 or item.get("sent"):
            continue
        table_item = runs.get_table(run_id, item["table"])
        message = WorkMessage(
            run_id=run_id,
            source=source.name,
            table=item["table"],
            range=int(item["range"]),
            ranges=int(table_item["ranges"]) if table_item else 1,
            seq=0,
        )
        send(message.body())
        runs.mark_sent(run_id, item["table"], int(item["range"]), 0)
        sent += 1
    return DispatchResult(run_id, created, total, sent, False)
