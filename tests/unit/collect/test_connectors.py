"""Connector params validation, the synthetic connector's determinism and values, the registry."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, ClassVar

import pytest
from jsonschema import SchemaError

from headwater.collect.connectors import registry
from headwater.collect.connectors.base import (
    Fact,
    InvalidParams,
    ParamError,
    resolved_params,
    validate_params,
)
from headwater.collect.connectors.synthetic import MAX_CAMPAIGNS, SyntheticConnector
from headwater.collect.windows import Window

SYNTHETIC = SyntheticConnector()
JAN = Window(date(2026, 1, 1), date(2026, 2, 1))


def _facts(params=None, account="acct-1", window=JAN):
    return list(SYNTHETIC.fetch(account, window, params or {}, None))


def test_valid_params_have_no_errors():
    assert validate_params(SYNTHETIC, {}) == []
    assert validate_params(SYNTHETIC, {"campaigns": 50, "seed": "x", "currency": "EUR"}) == []
    assert validate_params(SYNTHETIC, {"campaigns": 1, "seed": 7}) == []


def test_every_params_error_is_reported_with_its_path_and_rule():
    errors = validate_params(
        SYNTHETIC,
        {"campaigns": 51, "seed": 1.5, "currency": "usd", "colour": "red", "size": 2},
    )
    assert [(e.path, e.rule) for e in errors] == [
        ("params.campaigns", "maximum"),
        ("params.colour", "additionalProperties"),
        ("params.currency", "pattern"),
        ("params.seed", "type"),
        ("params.size", "additionalProperties"),
    ]
    assert all(e.message for e in errors)


@pytest.mark.parametrize(
    ("params", "rule"),
    [({"campaigns": 0}, "minimum"), ({"campaigns": "3"}, "type"), ({"campaigns": True}, "type")],
)
def test_campaigns_bounds_and_type(params, rule):
    assert [(e.path, e.rule) for e in validate_params(SYNTHETIC, params)] == [
        ("params.campaigns", rule)
    ]


def test_params_that_are_not_an_object_and_a_custom_prefix():
    assert validate_params(SYNTHETIC, [1], prefix="body.params") == [
        ParamError("body.params", "type", "[1] is not of type 'object'")
    ]


def test_required_names_are_reported_one_by_one():
    class Needy(SyntheticConnector):
        name = "needy"
        params_schema: ClassVar[Mapping[str, Any]] = {"type": "object", "required": ["a", "b", "c"]}

    assert [(e.path, e.rule) for e in validate_params(Needy(), {"b": 1})] == [
        ("params.a", "required"),
        ("params.c", "required"),
    ]


def test_fetch_refuses_bad_params_with_every_error():
    with pytest.raises(InvalidParams) as caught:
        _facts({"campaigns": 0, "extra": 1})
    assert [e.path for e in caught.value.errors] == ["params.campaigns", "params.extra"]
    assert "synthetic" in str(caught.value)


def test_defaults_fill_missing_params_only():
    assert resolved_params(SYNTHETIC, None) == {"campaigns": 3, "seed": 0, "currency": "USD"}
    assert resolved_params(SYNTHETIC, {"campaigns": 5})["campaigns"] == 5


def test_one_fact_per_day_and_campaign_default_three():
    facts = _facts()
    assert len(facts) == 31 * 3
    assert {(f.day, f.campaign) for f in facts} == {
        (JAN.start + timedelta(days=d), f"campaign-{c:02d}") for d in range(31) for c in (1, 2, 3)
    }
    assert (
        len(_facts({"campaigns": MAX_CAMPAIGNS}, window=Window(date(2026, 1, 1), date(2026, 1, 2))))
        == 50
    )


def test_reruns_are_identical_and_seeds_differ():
    assert _facts({"seed": "a"}) == _facts({"seed": "a"})
    assert _facts({"seed": "a"}) != _facts({"seed": "b"})
    # The seed's type is part of the dataset: 1 and "1" are different seeds.
    assert _facts({"seed": 1}) != _facts({"seed": "1"})
    # Accounts differ from each other too (not the same numbers relabelled).
    first = [(f.spend, f.clicks) for f in _facts(account="a")]
    assert first != [(f.spend, f.clicks) for f in _facts(account="b")]


def test_a_day_is_the_same_whichever_window_fetches_it():
    whole = {(f.day, f.campaign): f for f in _facts()}
    part = _facts(window=Window(date(2026, 1, 10), date(2026, 1, 12)))
    assert part and all(whole[(f.day, f.campaign)] == f for f in part)


def test_reruns_are_identical_across_processes(tmp_path):
    # Python's hash() is salted per process: derive values from it and this test fails.
    import os
    import subprocess
    import sys

    code = (
        "from datetime import date;"
        "from headwater.collect.connectors.synthetic import SyntheticConnector as S;"
        "from headwater.collect.windows import Window as W;"
        "print([(str(f.spend), f.impressions, f.clicks) for f in "
        "S().fetch('acct', W(date(2026,1,1), date(2026,1,3)), {'seed': 's'}, None)])"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    }
    assert len(outputs) == 1


def test_values_are_plausible_over_many_days_and_accounts():
    year = Window(date(2025, 1, 1), date(2026, 1, 1))
    facts = [
        f
        for account in ("a", "b", "acct-with-#", "ünïcode")
        for f in SYNTHETIC.fetch(account, year, {"campaigns": 5, "currency": "EUR"}, None)
    ]
    assert len(facts) == 4 * 365 * 5
    for f in facts:
        assert 1_000 <= f.impressions <= 100_000
        assert 0 <= f.clicks <= f.impressions
        assert f.spend >= 0 and f.spend == f.spend.quantize(Decimal("0.01"))
        assert f.spend.as_tuple().exponent == -2
        assert f.currency == "EUR"
        if f.clicks:
            assert Decimal("0.10") <= f.spend / f.clicks <= Decimal("3.00")
    # Spread, not a constant: many distinct values.
    assert len({f.impressions for f in facts}) > len(facts) // 2


@pytest.mark.parametrize(
    "change",
    [
        {"spend": 1.5},
        {"spend": Decimal("-0.01")},
        {"spend": Decimal("NaN")},
        {"clicks": -1},
        {"impressions": -1},
        {"clicks": True},
        {"campaign": ""},
    ],
)
def test_a_fact_refuses_values_no_table_should_hold(change):
    fields = dict(
        account="a",
        day=date(2026, 1, 1),
        campaign="c",
        spend=Decimal("1.00"),
        impressions=10,
        clicks=1,
        currency="USD",
    )
    Fact(**fields)
    with pytest.raises((ValueError, TypeError)):
        Fact(**{**fields, **change})


def test_a_fact_may_have_more_clicks_than_impressions():
    """Meta's "clicks (all)" can count several clicks per impression: such a day is data, not
    an error that would fail every run of its schedule."""
    fact = Fact("a", date(2026, 1, 1), "c", Decimal("1.00"), impressions=3, clicks=5,
                currency="USD")  # fmt: skip
    assert (fact.impressions, fact.clicks) == (3, 5)


def test_registry_gets_by_name_and_names_the_known_ones():
    assert registry.get("synthetic").name == "synthetic"
    assert registry.DEFAULT in registry.names()
    with pytest.raises(registry.UnknownConnector) as caught:
        registry.get("facebook")
    assert str(caught.value) == (
        "unknown connector 'facebook'; known connectors: meta_insights, synthetic"
    )
    with pytest.raises(registry.UnknownConnector):
        registry.get(["not", "hashable"])


def test_registry_refuses_broken_schemas_and_duplicates():
    class Broken(SyntheticConnector):
        name = "broken"
        params_schema: ClassVar[Mapping[str, Any]] = {
            "type": "object",
            "properties": {"n": {"minimum": "one"}},
        }

    with pytest.raises(SchemaError):
        registry._registry(Broken())
    with pytest.raises(ValueError, match="twice"):
        registry._registry(SyntheticConnector(), SyntheticConnector())
