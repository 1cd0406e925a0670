"""A schedule's checkpoint in the state table: the end of the last window it collected.

Item: ``pk = "checkpoint#<schedule_id>"``, ``day`` (``YYYY-MM-DD``, ``Plan.checkpoint``: the
exclusive end of the last collected window) and ``updated_at`` (RFC 3339 UTC). Keyed by the
schedule's id, not its name: a schedule deleted and re-created under the same name gets a new
id, so a checkpoint a failed delete left behind is never read.

A checkpoint only moves forward. Lambda retries a failed asynchronous invocation, and the
Scheduler and run-now can overlap, so an old attempt may finish after a newer one: the write is
conditional (``attribute_not_exists(pk) OR #day < :day``) and a stale one changes nothing.
ISO dates compare as strings in date order, which is what makes the condition correct.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

PREFIX = "checkpoint#"


def key(schedule_id: str) -> dict[str, str]:
    if not schedule_id:
        raise ValueError("schedule_id must be non-empty")
    return {"pk": f"{PREFIX}{schedule_id}"}


def get(table: Any, schedule_id: str) -> date | None:
    """The schedule's checkpoint, or None before its first collected window.

    A strongly consistent read: a retry right after a run must see the day that run reached.
    """
    item = table.get_item(Key=key(schedule_id), ConsistentRead=True).get("Item")
    return None if item is None else date.fromisoformat(item["day"])


def advance(table: Any, schedule_id: str, day: date, now: datetime) -> bool:
    """Move the checkpoint to ``day`` if it is later than the stored one (or none is stored).

    Returns False when the stored checkpoint is already at or past ``day`` (an older attempt
    finishing late): nothing is written, and that is not an error.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    try:
        table.put_item(
            Item={
                **key(schedule_id),
                "day": day.isoformat(),
                "updated_at": now.astimezone(UTC)
                .isoformat(timespec="seconds")
                .replace("+00:00", "Z"),
            },
            # "day" is a DynamoDB reserved word, hence the placeholder.
            ConditionExpression="attribute_not_exists(pk) OR #day < :day",
            ExpressionAttributeNames={"#day": "day"},
            ExpressionAttributeValues={":day": day.isoformat()},
        )
    except table.meta.client.exceptions.ConditionalCheckFailedException:
        return False
    return True


def delete(table: Any, schedule_id: str) -> None:
    """Forget the schedule's checkpoint (the schedule is deleted); absent is fine."""
    table.delete_item(Key=key(schedule_id))
