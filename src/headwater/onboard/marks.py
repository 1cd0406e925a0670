"""Incremental high-water marks: per source and table, the largest cursor value landed.

Item ``pk=mark#<source>, sk=<schema.table>``: ``value`` (positions.encode_value), ``run_id``,
``updated_at``. A run reads from ``mark - lookback`` (``since``); the worker advances the mark
only after the table's files and manifest are written, to the largest cursor value it read, and
never backwards. A failed run never reaches that point, so it never moves the mark.

The lookback window re-reads rows whose transaction committed after the previous run read past
their cursor value (a long transaction's ``updated_at`` is its start, not its commit). It applies
to date and time cursors; an integer cursor (a sequence) is read from the mark on. Deletes are
not seen through a cursor column: such tables need full mode or a soft-delete column.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from headwater.onboard import positions


def mark_key(source: str, table: str) -> dict[str, str]:
    return {"pk": f"mark#{source}", "sk": table}


def get(state: Any, source: str, table: str) -> Any:
    """The table's mark (a value of the cursor's type), or None before its first run."""
    item = state.get_item(Key=mark_key(source, table), ConsistentRead=True).get("Item")
    return None if item is None else positions.decode_value(item["value"])


def since(mark: Any, lookback_seconds: int) -> Any:
    """Where a run reads from: the mark minus the lookback window (time cursors only)."""
    if mark is None:
        return None
    if isinstance(mark, datetime):
        return mark - timedelta(seconds=lookback_seconds)
    if isinstance(mark, date):
        return mark - timedelta(days=-(-lookback_seconds // 86400))
    return mark


def _later(a: Any, b: Any) -> bool:
    return b is None or a > b


def advance(state: Any, source: str, table: str, value: Any, run_id: str) -> bool:
    """Move the mark to ``value`` if it is later than the stored one; False otherwise.

    Optimistic: the write is conditional on the value read, so two runs finishing at once
    never move it backwards.
    """
    client_errors = state.meta.client.exceptions
    for _ in range(5):
        item = state.get_item(Key=mark_key(source, table), ConsistentRead=True).get("Item")
        current = None if item is None else positions.decode_value(item["value"])
        if not _later(value, current):
            return False
        condition: dict[str, Any]
        if item is None:
            condition = {"ConditionExpression": "attribute_not_exists(pk)"}
        else:
            condition = {
                "ConditionExpression": "#v = :old",
                "ExpressionAttributeNames": {"#v": "value"},
                "ExpressionAttributeValues": {":old": item["value"]},
            }
        try:
            state.put_item(
                Item={
                    **mark_key(source, table),
                    "value": positions.encode_value(value),
                    "run_id": run_id,
                    "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
                },
                **condition,
            )
        except client_errors.ConditionalCheckFailedException:
            continue
        return True
    raise RuntimeError(f"mark of {table}: too many concurrent updates")
