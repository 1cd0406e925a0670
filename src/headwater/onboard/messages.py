"""The onboard capability's two inputs, parsed strictly: the dispatcher's event and a work message.

Dispatcher event (the Scheduler's input, and what ``headwater onboard run`` invokes with)::

    {"source": "demo", "scheduled_time": "2026-12-02T02:00:00Z"}

Work message (an SQS body)::

    {"v": 1, "run_id": "20261202T020000Z", "source": "demo", "table": "public.events",
     "range": 0, "ranges": 2, "seq": 0}

Both are exact: a missing key, any other key, a value of the wrong type or shape raises
``ValueError`` naming what is wrong. Names are identifiers only (no spaces, quotes, semicolons):
nothing in an event can carry SQL, a column list, a position or a credential. Positions live in
the state table; what a table reads comes from the declarations in the repository.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

VERSION = 1
RUN_ID_FORMAT = "%Y%m%dT%H%M%SZ"
MAX_RANGES = 64
MAX_BODY_BYTES = 1024

_SOURCE = re.compile(r"[a-z][a-z0-9_]{0,39}\Z")
MAX_IDENTIFIER_BYTES = 63
_RUN_ID = re.compile(r"\d{8}T\d{6}Z\Z")

DISPATCH_KEYS = frozenset({"source", "scheduled_time"})
WORK_KEYS = frozenset({"v", "run_id", "source", "table", "range", "ranges", "seq"})


def run_id_for(scheduled_time: datetime) -> str:
    """``YYYYMMDDTHHMMSSZ`` of the scheduled time in UTC: the same fire gives the same run."""
    if scheduled_time.tzinfo is None:
        raise ValueError("scheduled_time must carry a time zone")
    return scheduled_time.astimezone(UTC).strftime(RUN_ID_FORMAT)


def _exact_keys(kind: str, data: Any, keys: frozenset[str]) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValueError(f"{kind} must be a JSON object, not {type(data).__name__}")
    extra = sorted(str(k) for k in data.keys() - keys)
    missing = sorted(keys - data.keys())
    problems = []
    if extra:
        problems.append(f"unknown key(s) {', '.join(extra)}")
    if missing:
        problems.append(f"missing key(s) {', '.join(missing)}")
    if problems:
        raise ValueError(f"{kind}: {'; '.join(problems)} (expected exactly {sorted(keys)})")
    return data


def check_source_name(value: Any) -> str:
    if not isinstance(value, str) or not _SOURCE.match(value):
        raise ValueError(f"source must match [a-z][a-z0-9_]{{0,39}}, not {_show(value)}")
    return value


def _is_table_name(value: Any) -> bool:
    """``schema.table``, each a name the declarations accept (PostgreSQL's 63 bytes, no '/',
    no control character). Whether it is declared is the worker's check, not this one."""
    if not isinstance(value, str):
        return False
    schema, dot, table = value.partition(".")
    return bool(dot) and all(
        part
        and len(part.encode("utf-8")) <= MAX_IDENTIFIER_BYTES
        and "/" not in part
        and "#" not in part
        and not any(ord(c) < 32 or ord(c) == 127 for c in part)
        for part in (schema, table)
    )


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _integer(kind: str, name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{kind}: {name} must be an integer, not {_show(value)}")
    if not low <= value <= high:
        raise ValueError(f"{kind}: {name} must be between {low} and {high}, not {value}")
    return value


@dataclass(frozen=True)
class DispatchRequest:
    source: str
    scheduled_time: datetime

    @property
    def run_id(self) -> str:
        return run_id_for(self.scheduled_time)


def parse_dispatch_event(event: Any) -> DispatchRequest:
    """The dispatcher's event, exactly ``{"source", "scheduled_time"}``."""
    data = _exact_keys("dispatcher event", event, DISPATCH_KEYS)
    source = check_source_name(data["source"])
    text = data["scheduled_time"]
    if not isinstance(text, str) or len(text) > 40:
        raise ValueError(f"dispatcher event: scheduled_time must be a timestamp, not {_show(text)}")
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"dispatcher event: scheduled_time is not an ISO 8601 timestamp: {_show(text)}"
        ) from None
    if when.tzinfo is None:
        raise ValueError(f"dispatcher event: scheduled_time needs a time zone: {_show(text)}")
    return DispatchRequest(source=source, scheduled_time=when)


@dataclass(frozen=True)
class WorkMessage:
    run_id: str
    source: str
    table: str
    range: int
    ranges: int
    seq: int
    v: int = VERSION

    def body(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), sort_keys=True)

    def next(self) -> WorkMessage:
        """The continuation: the same range, one step on."""
        return WorkMessage(
            self.run_id, self.source, self.table, self.range, self.ranges, self.seq + 1
        )


def parse_work_message(body: Any) -> WorkMessage:
    """An SQS body (text) or its parsed object: exactly the work message's keys and types."""
    kind = "work message"
    if isinstance(body, (str, bytes)):
        if len(body) > MAX_BODY_BYTES:
            raise ValueError(f"{kind}: body of {len(body)} bytes, at most {MAX_BODY_BYTES}")
        try:
            body = json.loads(body)
        except ValueError:
            raise ValueError(f"{kind}: body is not JSON") from None
    data = _exact_keys(kind, body, WORK_KEYS)
    _integer(kind, "v", data["v"], VERSION, VERSION)
    run_id = data["run_id"]
    if not isinstance(run_id, str) or not _RUN_ID.match(run_id):
        raise ValueError(f"{kind}: run_id must look like 20261202T020000Z, not {_show(run_id)}")
    source = check_source_name(data["source"])
    table = data["table"]
    if not _is_table_name(table):
        raise ValueError(f"{kind}: table must be schema.table (identifiers), not {_show(table)}")
    ranges = _integer(kind, "ranges", data["ranges"], 1, MAX_RANGES)
    index = _integer(kind, "range", data["range"], 0, ranges - 1)
    seq = _integer(kind, "seq", data["seq"], 0, 10**9)
    return WorkMessage(run_id, source, table, index, ranges, seq)
