"""Fact keys: idempotent across reruns and overlapping windows; items round-trip exactly."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import boto3
import pytest
from moto import mock_aws

from headwater.collect import facts
from headwater.collect.connectors.base import Fact
from headwater.collect.connectors.synthetic import SyntheticConnector
from headwater.collect.windows import Window
from tests.support.collect import create_facts_table

SYNTHETIC = SyntheticConnector()


def _keys(window: Window, subscriber: str = "sub-1") -> list[tuple[str, str]]:
    return [
        tuple(facts.key(subscriber, "synthetic", f).values())
        for f in SYNTHETIC.fetch("acct-1", window, {}, None)
    ]


def test_overlapping_windows_produce_the_same_keys_for_shared_days():
    first = _keys(Window(date(2026, 1, 1), date(2026, 1, 5)))
    second = _keys(Window(date(2026, 1, 3), date(2026, 1, 8)))
    shared = set(first) & set(second)
    # Jan 3 and 4, three campaigns each: the same keys, so the second write overwrites.
    assert len(shared) == 2 * 3
    assert len(set(first) | set(second)) == 7 * 3
    assert len(set(first)) == len(first)  # no two facts of one window share a key


def test_key_layout():
    fact = next(
        iter(SYNTHETIC.fetch("act#9", Window(date(2026, 1, 2), date(2026, 1, 3)), {}, None))
    )
    assert facts.key("sub-1", "synthetic", fact) == {
        "pk": "sub-1#synthetic#act#9",
        "sk": "2026-01-02#campaign-01",
    }


def test_subscribers_and_sources_never_share_keys():
    window = Window(date(2026, 1, 1), date(2026, 1, 2))
    assert not set(_keys(window, "sub-1")) & set(_keys(window, "sub-2"))


@pytest.mark.parametrize(("subscriber", "source"), [("a#b", "synthetic"), ("s", "x#y"), ("", "s")])
def test_separator_in_subscriber_or_source_is_refused(subscriber, source):
    with pytest.raises(ValueError):
        facts.partition_key(subscriber, source, "acct")


def test_a_rerun_and_an_overlap_overwrite_in_dynamodb():
    with mock_aws():
        create_facts_table(boto3.client("dynamodb", region_name="us-east-1"), "facts")
        table = boto3.resource("dynamodb", region_name="us-east-1").Table("facts")
        windows = [
            Window(date(2026, 1, 1), date(2026, 1, 5)),
            Window(date(2026, 1, 1), date(2026, 1, 5)),  # rerun
            Window(date(2026, 1, 3), date(2026, 1, 8)),  # overlap
        ]
        # One batch for all three windows: without overwrite_by_pkeys, DynamoDB refuses it.
        with table.batch_writer(overwrite_by_pkeys=facts.KEY_FIELDS) as batch:
            for window in windows:
                for fact in SYNTHETIC.fetch("acct-1", window, {}, None):
                    batch.put_item(Item=facts.to_item("sub-1", "synthetic", fact))
        # And window by window, as separate runs write: overwrites too.
        for window in windows:
            with table.batch_writer() as batch:
                for fact in SYNTHETIC.fetch("acct-1", window, {}, None):
                    batch.put_item(Item=facts.to_item("sub-1", "synthetic", fact))
        items = table.scan()["Items"]
    assert len(items) == 7 * 3
    expected = set(SYNTHETIC.fetch("acct-1", Window(date(2026, 1, 1), date(2026, 1, 8)), {}, None))
    assert {facts.from_item(i) for i in items} == expected


def test_item_round_trip_keeps_spend_exact():
    fact = Fact("a", date(2026, 1, 1), "c", Decimal("12345678.91"), 10, 3, "JPY")
    item = facts.to_item("s", "synthetic", fact)
    assert isinstance(item["spend"], Decimal) and item["spend"] == Decimal("12345678.91")
    assert (
        item["day"] == "2026-01-01" and item["subscriber"] == "s" and item["source"] == "synthetic"
    )
    assert facts.from_item(item) == fact
    # No collection time in the item: an identical rewrite changes no data.
    assert facts.to_item("s", "synthetic", fact) == item
