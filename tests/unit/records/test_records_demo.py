"""The records step of `./setup.sh run`: the order its curl posts is one the dataset accepts."""

from __future__ import annotations

import json
import shlex

import pytest

from headwater.cli import records as cli
from headwater.records.declarations import load_record_datasets
from headwater.records.validation import InvalidBody, records_of


def test_the_demo_order_is_valid_for_its_declared_dataset():
    dataset = load_record_datasets()[cli.DEMO_DATASET]
    assert records_of(dataset, cli.DEMO_ORDER) == [cli.DEMO_ORDER]


def test_the_validation_the_demo_relies_on_refuses_a_broken_order():
    dataset = load_record_datasets()[cli.DEMO_DATASET]
    with pytest.raises(InvalidBody):
        records_of(dataset, {**cli.DEMO_ORDER, "currency": "XXX"})


def test_the_curl_command_posts_the_record_as_json_with_the_key():
    command = cli.curl_command(
        "http://127.0.0.1:4580/local/", "k'ey", cli.DEMO_ORDER, cli.DEMO_DATASET
    )
    words = shlex.split(command)
    assert words[:3] == ["curl", "-sS", "-H"]
    assert words[3] == "x-api-key: k'ey"
    assert words[words.index("-d") + 1] == json.dumps(cli.DEMO_ORDER, separators=(",", ":"))
    assert words[-1] == "http://127.0.0.1:4580/local/records/orders"
