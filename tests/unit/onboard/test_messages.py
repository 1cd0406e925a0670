"""The onboard inputs are parsed strictly: exact keys, exact types, names without SQL room."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from headwater.onboard.messages import (
    WorkMessage,
    parse_dispatch_event,
    parse_work_message,
    run_id_for,
)

GOOD = {
    "v": 1,
    "run_id": "20261202T020000Z",
    "source": "demo",
    "table": "public.events",
    "range": 1,
    "ranges": 2,
    "seq": 3,
}


def test_the_run_id_is_the_scheduled_time_in_utc():
    request = parse_dispatch_event(
        {"source": "demo", "scheduled_time": "2026-12-02T03:00:00+01:00"}
    )
    assert request.run_id == "20261202T020000Z"
    assert run_id_for(datetime(2026, 12, 2, 2, tzinfo=UTC)) == "20261202T020000Z"


@pytest.mark.parametrize(
    ("event", "needle"),
    [
        (
            {"source": "demo", "scheduled_time": "2026-12-02T02:00:00Z", "table": "x"},
            "unknown key(s) table",
        ),
        (
            {"source": "demo", "scheduled_time": "2026-12-02T02:00:00Z", "sql": "select 1"},
            "unknown key(s) sql",
        ),
        ({"source": "demo"}, "missing key(s) scheduled_time"),
        ({"source": "Demo;drop", "scheduled_time": "2026-12-02T02:00:00Z"}, "source must match"),
        ({"source": "demo", "scheduled_time": "2026-12-02T02:00:00"}, "needs a time zone"),
        ({"source": "demo", "scheduled_time": "tomorrow"}, "not an ISO 8601"),
        ({"source": "demo", "scheduled_time": 1733104800}, "must be a timestamp"),
        (["demo"], "must be a JSON object"),
    ],
)
def test_a_dispatcher_event_other_than_source_and_time_is_rejected(event, needle):
    with pytest.raises(ValueError, match=r"dispatcher event|source must") as caught:
        parse_dispatch_event(event)
    assert needle in str(caught.value)


def test_a_work_message_round_trips_and_continues_one_step_on():
    message = parse_work_message(json.dumps(GOOD))
    assert message == WorkMessage("20261202T020000Z", "demo", "public.events", 1, 2, 3)
    assert parse_work_message(message.body()) == message
    assert message.next().seq == 4 and message.next().range == 1
    # Ids and names only: no credentials, no SQL, no columns, no positions.
    assert set(json.loads(message.body())) == set(GOOD)


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"query": "select * from pg_shadow"}, "unknown key(s) query"),
        ({"password": "x"}, "unknown key(s) password"),
        ({"after": [5]}, "unknown key(s) after"),
        ({"seq": "3"}, "seq must be an integer"),
        ({"seq": True}, "seq must be an integer"),
        ({"range": 2}, "range must be between 0 and 1"),
        ({"ranges": 0}, "ranges must be between 1"),
        ({"v": 2}, "v must be between 1 and 1"),
        ({"run_id": "latest"}, "run_id must look like"),
        ({"table": "events"}, "table must be schema.table"),
        ({"table": "public.a/b"}, "table must be schema.table"),
        ({"table": "public.a\nb"}, "table must be schema.table"),
        ({"source": "../etc"}, "source must match"),
    ],
)
def test_a_work_message_with_anything_else_is_rejected(change, needle):
    with pytest.raises(ValueError) as caught:
        parse_work_message(json.dumps({**GOOD, **change}))
    assert needle in str(caught.value)


def test_a_body_that_is_not_json_or_too_long_is_rejected():
    with pytest.raises(ValueError, match="not JSON"):
        parse_work_message("{nope")
    with pytest.raises(ValueError, match="at most 1024"):
        parse_work_message(json.dumps({**GOOD, "table": "public." + "x" * 2000}))
