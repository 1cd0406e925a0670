"""Runs, their tables and key ranges in the state table (DynamoDB, hash ``pk`` + range ``sk``).

Items (every one but the marks expires through ``expires_at``):

- run ``pk=run#<source>#<run_id>, sk=run``: ``status`` (running | completed), ``tables_total``,
  ``finished`` (string set of the tables counted), ``succeeded``, ``failed``, ``rows``, ``files``,
  ``bytes``, ``scheduled_time``, ``created_at``, ``completed_at``, ``reported``;
- table ``sk=table#<schema.table>``: ``status`` (pending | succeeded | failed), ``ranges``,
  ``ranges_done`` (number set), ``mode``, ``since`` (the incremental run's lower bound),
  ``rows``, ``files``, ``bytes``, ``seconds``, ``schema``, ``mark``, ``error``;
- range ``sk=table#<schema.table>#range#<k>``: ``status`` (pending | done), ``seq`` (the
  message step expected next), ``sent`` (that step's message is on the queue), ``lo``/``hi``
  (bounds), ``after`` (the keyset position written so far), ``next_part``, ``parts``
  (``[[number, rows, bytes], ...]``), ``rows``, ``bytes``, ``seconds``, ``max_cursor``,
  ``lease_id``/``lease_until`` (the invocation working on it), ``last_error``;
- run index ``pk=runs#<source>, sk=<run_id>``: ``status``, ``created_at``, ``completed_at``.

Counting is idempotent: a table is counted into its run by adding its name to ``finished``
under the condition that it is not there yet, so a retried worker never counts twice, and
exactly one update makes ``finished`` reach ``tables_total``. Completing the run is one
conditional write (running -> completed): exactly one caller is told "run complete".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

FINAL = ("succeeded", "failed")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def run_key(source: str, run_id: str) -> dict[str, str]:
    return {"pk": f"run#{source}#{run_id}", "sk": "run"}


def table_key(source: str, run_id: str, table: str) -> dict[str, str]:
    return {"pk": f"run#{source}#{run_id}", "sk": f"table#{table}"}


def range_key(source: str, run_id: str, table: str, index: int) -> dict[str, str]:
    return {"pk": f"run#{source}#{run_id}", "sk": f"table#{table}#range#{index}"}


def index_key(source: str, run_id: str) -> dict[str, str]:
    return {"pk": f"runs#{source}", "sk": run_id}


def plain(value: Any) -> Any:
    """DynamoDB's Decimals and sets as plain JSON-able Python values."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(plain(v) for v in value)
    return value


class Busy(Exception):
    """Another invocation holds the range's lease: retry later."""


class LeaseLost(Exception):
    """The lease was taken over (it expired): this invocation's writes are not recorded."""


@dataclass(frozen=True)
class RangeSpec:
    index: int
    lo: str | None = None  # positions.encode((value,)) or None (unbounded)
    hi: str | None = None


class RunStore:
    """The state of one source's runs: ``table`` is a boto3 DynamoDB Table resource."""

    def __init__(
        self,
        table: Any,
        source: str,
        *,
        retention_days: int = 30,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.table = table
        self.source = source
        self.retention_days = retention_days
        self.clock = clock

    # -- helpers ---------------------------------------------------------------------------
    def _expires(self) -> int:
        return int(self.clock().timestamp()) + self.retention_days * 86400

    def _conditional(self, **kwargs: Any) -> dict[str, Any] | None:
        """update_item; None when its condition does not hold."""
        try:
            return self.table.update_item(**kwargs)
        except self.table.meta.client.exceptions.ConditionalCheckFailedException:
            return None

    def _put_new(self, item: dict[str, Any]) -> bool:
        try:
            self.table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")
        except self.table.meta.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def _get(self, key: dict[str, str]) -> dict[str, Any] | None:
        return self.table.get_item(Key=key, ConsistentRead=True).get("Item")

    def _query(self, pk: str, prefix: str) -> list[dict[str, Any]]:
        from boto3.dynamodb.conditions import Key

        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(pk) & Key("sk").begins_with(prefix),
            "ConsistentRead": True,
        }
        while True:
            page = self.table.query(**kwargs)
            items += page["Items"]
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # -- creation (dispatcher) ---------------------------------------------------------------
    def get_run(self, run_id: str) -> dict[str, Any] | None:
        return self._get(run_key(self.source, run_id))

    def create_table(
        self, run_id: str, table: str, *, mode: str, since: str | None, ranges: list[RangeSpec]
    ) -> None:
        """The table's item and its ranges' items, each only if absent (a re-dispatch keeps
        whatever progress is recorded)."""
        now, expires = _iso(self.clock()), self._expires()
        item: dict[str, Any] = {
            **table_key(self.source, run_id, table),
            "table": table,
            "status": "pending",
            "ranges": len(ranges),
            "mode": mode,
            "created_at": now,
            "expires_at": expires,
        }
        if since is not None:
            item["since"] = since
        self._put_new(item)
        for spec in ranges:
            entry: dict[str, Any] = {
                **range_key(self.source, run_id, table, spec.index),
                "table": table,
                "range": spec.index,
                "status": "pending",
                "seq": 0,
                "sent": False,
                "next_part": spec.index * 10000,
                "parts": [],
                "rows": 0,
                "bytes": 0,
                "seconds": Decimal(0),
                "expires_at": expires,
            }
            if spec.lo is not None:
                entry["lo"] = spec.lo
            if spec.hi is not None:
                entry["hi"] = spec.hi
            self._put_new(entry)

    def create_run(self, run_id: str, scheduled_time: datetime, tables: int) -> bool:
        """The run item (after its tables): False when it exists already (a re-fire)."""
        now, expires = _iso(self.clock()), self._expires()
        created = self._put_new(
            {
                **run_key(self.source, run_id),
                "source": self.source,
                "run_id": run_id,
                "status": "running",
                "scheduled_time": _iso(scheduled_time),
                "tables_total": tables,
                "succeeded": 0,
                "failed": 0,
                "rows": 0,
                "files": 0,
                "bytes": 0,
                "created_at": now,
                "expires_at": expires,
            }
        )
        if created:
            self.table.put_item(
                Item={
                    **index_key(self.source, run_id),
                    "run_id": run_id,
                    "status": "running",
                    "created_at": now,
                    "expires_at": expires,
                }
            )
        return created

    def tables(self, run_id: str) -> list[dict[str, Any]]:
        return [
            i
            for i in self._query(f"run#{self.source}#{run_id}", "table#")
            if "#range#" not in i["sk"]
        ]

    def ranges(self, run_id: str, table: str | None = None) -> list[dict[str, Any]]:
        prefix = f"table#{table}#range#" if table else "table#"
        items = self._query(f"run#{self.source}#{run_id}", prefix)
        return sorted(
            (i for i in items if "#range#" in i["sk"]), key=lambda i: (i["table"], int(i["range"]))
        )

    def mark_sent(self, run_id: str, table: str, index: int, seq: int) -> None:
        """The message of step ``seq`` is on the queue (only if the range is still there)."""
        self._conditional(
            Key=range_key(self.source, run_id, table, index),
            UpdateExpression="SET sent = :t",
            ConditionExpression="seq = :s",
            ExpressionAttributeValues={":t": True, ":s": seq},
        )

    # -- work (worker) ---------------------------------------------------------------------
    def get_table(self, run_id: str, table: str) -> dict[str, Any] | None:
        return self._get(table_key(self.source, run_id, table))

    def get_range(self, run_id: str, table: str, index: int) -> dict[str, Any] | None:
        return self._get(range_key(self.source, run_id, table, index))

    def claim(
        self, run_id: str, table: str, index: int, seq: int, lease_id: str, seconds: float
    ) -> None:
        """Take the range's lease for step ``seq`` until ``seconds`` from now; Busy when another
        invocation holds an unexpired one, LeaseLost when the step moved on."""
        now = self.clock().timestamp()
        done = self._conditional(
            Key=range_key(self.source, run_id, table, index),
            UpdateExpression="SET lease_id = :id, lease_until = :until",
            ConditionExpression=(
                "seq = :s AND #st = :pending AND "
                "(attribute_not_exists(lease_until) OR lease_until < :now)"
            ),
            ExpressionAttributeNames={"#st": "status"},
            ExpressionAttributeValues={
                ":id": lease_id,
                ":until": Decimal(str(round(now + seconds, 3))),
                ":s": seq,
                ":pending": "pending",
                ":now": Decimal(str(round(now, 3))),
            },
        )
        if done is None:
            current = self.get_range(run_id, table, index)
            if current and int(current["seq"]) == seq and current["status"] == "pending":
                raise Busy(f"{table} range {index} step {seq} is being worked on")
            raise LeaseLost(f"{table} range {index} moved past step {seq}")

    def release(
        self, run_id: str, table: str, index: int, lease_id: str, error: str | None
    ) -> None:
        """Give the lease back after a failure, recording the (redacted) error."""
        names = {}
        update = "REMOVE lease_id, lease_until"
        values: dict[str, Any] = {":id": lease_id}
        if error is not None:
            update = "SET last_error = :e " + update
            values[":e"] = error[:1000]
        self._conditional(
            Key=range_key(self.source, run_id, table, index),
            UpdateExpression=update,
            ConditionExpression="lease_id = :id",
            ExpressionAttributeValues=values,
            **({"ExpressionAttributeNames": names} if names else {}),
        )

    def checkpoint(
        self,
        run_id: str,
        table: str,
        index: int,
        lease_id: str,
        *,
        seq: int,
        done: bool,
        after: str | None,
        parts: list[list[int]],
        rows: int,
        nbytes: int,
        seconds: float,
        max_cursor: str | None,
        schema: list[dict[str, str]] | None,
    ) -> None:
        """Record this step's parts and position: the next step (``seq + 1``, its message not
        sent yet) or the range done. Only the lease holder of step ``seq`` may; LeaseLost else."""
        values: dict[str, Any] = {
            ":id": lease_id,
            ":s": seq,
            ":next": seq + 1,
            ":f": False,
            ":parts": parts,
            ":rows": rows,
            ":bytes": nbytes,
            ":sec": Decimal(str(round(seconds, 3))),
            ":np": (parts[-1][0] + 1) if parts else None,
            ":status": "done" if done else "pending",
        }
        sets = [
            "seq = :next",
            "sent = :f",
            "#st = :status",
            "parts = list_append(parts, :parts)",
        ]
        if parts:
            sets.append("next_part = :np")
        else:
            del values[":np"]
        if after is not None:
            sets.append("#after = :after")
            values[":after"] = after
        if max_cursor is not None:
            sets.append("max_cursor = :mc")
            values[":mc"] = max_cursor
        if schema is not None:
            sets.append("#schema = :schema")
            values[":schema"] = schema
        update = (
            f"SET {', '.join(sets)} ADD #rows :rows, #bytes :bytes, seconds :sec "
            "REMOVE lease_id, lease_until, last_error"
        )
        names = {"#st": "status", "#rows": "rows", "#bytes": "bytes"}
        if after is not None:
            names["#after"] = "after"
        if schema is not None:
            names["#schema"] = "schema"
        result = self._conditional(
            Key=range_key(self.source, run_id, table, index),
            UpdateExpression=update,
            ConditionExpression="lease_id = :id AND seq = :s",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
        if result is None:
            raise LeaseLost(
                f"{table} range {index}: lease lost before the checkpoint of step {seq}"
            )

    def range_done(self, run_id: str, table: str, index: int) -> tuple[int, int]:
        """Count range ``index`` into its table once; (ranges done, ranges) after it."""
        key = table_key(self.source, run_id, table)
        result = self._conditional(
            Key=key,
            UpdateExpression="ADD ranges_done :k",
            ConditionExpression="NOT contains(ranges_done, :n)",
            ExpressionAttributeValues={":k": {index}, ":n": index},
            ReturnValues="ALL_NEW",
        )
        item = result["Attributes"] if result else self.get_table(run_id, table)
        assert item is not None
        return len(item.get("ranges_done", ())), int(item["ranges"])

    def finish_table(
        self,
        run_id: str,
        table: str,
        *,
        succeeded: bool,
        rows: int = 0,
        files: int = 0,
        nbytes: int = 0,
        seconds: float = 0.0,
        mark: str | None = None,
        error: str | None = None,
    ) -> bool:
        """The table's final status, once: False when it was final already."""
        values: dict[str, Any] = {
            ":st": "succeeded" if succeeded else "failed",
            ":rows": rows,
            ":files": files,
            ":bytes": nbytes,
            ":sec": Decimal(str(round(seconds, 3))),
            ":at": _iso(self.clock()),
            ":ok": "succeeded",
            ":ko": "failed",
        }
        sets = (
            "#st = :st, #rows = :rows, files = :files, #bytes = :bytes, seconds = :sec, "
            "finished_at = :at"
        )
        if mark is not None:
            sets += ", mark = :mark"
            values[":mark"] = mark
        if error is not None:
            sets += ", #error = :error"
            values[":error"] = error[:1000]
        return (
            self._conditional(
                Key=table_key(self.source, run_id, table),
                UpdateExpression=f"SET {sets}",
                ConditionExpression="NOT #st IN (:ok, :ko)",
                ExpressionAttributeNames={
                    "#st": "status",
                    "#rows": "rows",
                    "#bytes": "bytes",
                    "#error": "error",
                }
                if error is not None
                else {"#st": "status", "#rows": "rows", "#bytes": "bytes"},
                ExpressionAttributeValues=values,
            )
            is not None
        )

    def count_table(self, run_id: str, table_item: dict[str, Any]) -> dict[str, Any]:
        """Add a final table's figures to its run, once; the run item after it."""
        name = table_item["table"]
        succeeded = table_item["status"] == "succeeded"
        result = self._conditional(
            Key=run_key(self.source, run_id),
            UpdateExpression=(
                "ADD finished :t, succeeded :ok, failed :ko, #rows :rows, files :files, "
                "#bytes :bytes"
            ),
            ConditionExpression="attribute_exists(pk) AND NOT contains(finished, :name)",
            ExpressionAttributeNames={"#rows": "rows", "#bytes": "bytes"},
            ExpressionAttributeValues={
                ":t": {name},
                ":name": name,
                ":ok": 1 if succeeded else 0,
                ":ko": 0 if succeeded else 1,
                ":rows": int(table_item.get("rows", 0)),
                ":files": int(table_item.get("files", 0)),
                ":bytes": int(table_item.get("bytes", 0)),
            },
            ReturnValues="ALL_NEW",
        )
        if result is not None:
            return result["Attributes"]
        run = self.get_run(run_id)
        assert run is not None
        return run

    def complete(self, run_id: str) -> bool:
        """running -> completed when every table is counted: True for exactly one caller."""
        now = _iso(self.clock())
        done = self._conditional(
            Key=run_key(self.source, run_id),
            UpdateExpression="SET #st = :done, completed_at = :at",
            ConditionExpression="#st = :running AND size(finished) = tables_total",
            ExpressionAttributeNames={"#st": "status"},
            ExpressionAttributeValues={":done": "completed", ":running": "running", ":at": now},
        )
        if done is None:
            # An empty run has no ``finished`` set at all.
            done = self._conditional(
                Key=run_key(self.source, run_id),
                UpdateExpression="SET #st = :done, completed_at = :at",
                ConditionExpression=(
                    "#st = :running AND tables_total = :zero AND attribute_not_exists(finished)"
                ),
                ExpressionAttributeNames={"#st": "status"},
                ExpressionAttributeValues={
                    ":done": "completed",
                    ":running": "running",
                    ":at": now,
                    ":zero": 0,
                },
            )
        if done is None:
            return False
        self.table.update_item(
            Key=index_key(self.source, run_id),
            UpdateExpression="SET #st = :done, completed_at = :at",
            ExpressionAttributeNames={"#st": "status"},
            ExpressionAttributeValues={":done": "completed", ":at": now},
        )
        return True

    def mark_reported(self, run_id: str) -> None:
        self.table.update_item(
            Key=run_key(self.source, run_id),
            UpdateExpression="SET reported = :t",
            ExpressionAttributeValues={":t": True},
        )
