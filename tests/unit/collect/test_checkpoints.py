"""Checkpoints: read back, moved only forward, deleted with the schedule."""

from __future__ import annotations

from datetime import UTC, date, datetime

import boto3
import pytest
from moto import mock_aws

from headwater.collect import checkpoints
from tests.support.collect import STATE_TABLE, create_state_table

NOW = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
SCHEDULE = "6f1c2d3e-4a5b-4c6d-8e7f-0123456789ab"


@pytest.fixture
def table():
    with mock_aws():
        create_state_table(boto3.client("dynamodb", region_name="us-east-1"))
        yield boto3.resource("dynamodb", region_name="us-east-1").Table(STATE_TABLE)


def test_no_checkpoint_before_the_first_window(table):
    assert checkpoints.get(table, SCHEDULE) is None


def test_advance_stores_the_day_and_when(table):
    assert checkpoints.advance(table, SCHEDULE, date(2026, 12, 1), NOW)
    assert checkpoints.get(table, SCHEDULE) == date(2026, 12, 1)
    item = table.get_item(Key={"pk": f"checkpoint#{SCHEDULE}"})["Item"]
    assert item == {
        "pk": f"checkpoint#{SCHEDULE}",
        "day": "2026-12-01",
        "updated_at": "2026-12-02T06:00:00Z",
    }


@pytest.mark.parametrize("older", [date(2026, 11, 30), date(2026, 12, 1)])
def test_an_old_or_equal_day_never_moves_it(table, older):
    checkpoints.advance(table, SCHEDULE, date(2026, 12, 1), NOW)
    assert not checkpoints.advance(table, SCHEDULE, older, datetime(2026, 12, 3, tzinfo=UTC))
    item = table.get_item(Key={"pk": f"checkpoint#{SCHEDULE}"})["Item"]
    assert item["day"] == "2026-12-01" and item["updated_at"] == "2026-12-02T06:00:00Z"


def test_a_later_day_moves_it_across_months_and_years(table):
    checkpoints.advance(table, SCHEDULE, date(2026, 12, 31), NOW)
    assert checkpoints.advance(table, SCHEDULE, date(2027, 1, 1), NOW)
    assert checkpoints.get(table, SCHEDULE) == date(2027, 1, 1)


def test_schedules_have_their_own_checkpoints_and_delete_forgets_one(table):
    other = "00000000-0000-4000-8000-000000000000"
    checkpoints.advance(table, SCHEDULE, date(2026, 12, 1), NOW)
    checkpoints.advance(table, other, date(2026, 11, 1), NOW)
    checkpoints.delete(table, SCHEDULE)
    checkpoints.delete(table, SCHEDULE)  # absent is fine
    assert checkpoints.get(table, SCHEDULE) is None
    assert checkpoints.get(table, other) == date(2026, 11, 1)


def test_naive_now_is_refused(table):
    with pytest.raises(ValueError, match="timezone-aware"):
        checkpoints.advance(table, SCHEDULE, date(2026, 12, 1), datetime(2026, 12, 2))
