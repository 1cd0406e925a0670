"""Schedule validation: every rule, every error at once, with its path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from headwater.collect.schedules import (
    InvalidSchedule,
    Rules,
    Schedule,
    apply_patch,
    parse_create,
)

NOW = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
RULES = Rules(min_interval=timedelta(minutes=60), now=NOW)
GOOD = {
    "name": "daily",
    "source": "synthetic",
    "account": "act_1",
    "expression": "cron(0 6 * * ? *)",
}


def errors(body, rules=RULES) -> list[tuple[str, str]]:
    with pytest.raises(InvalidSchedule) as caught:
        parse_create(body, rules)
    assert caught.value.message
    return [(e.path, e.rule) for e in caught.value.errors]


def test_a_minimal_body_gets_the_defaults():
    assert parse_create(GOOD, RULES) == Schedule(
        name="daily", source="synthetic", account="act_1", expression="cron(0 6 * * ? *)"
    )
    full = parse_create(
        {
            **GOOD,
            "time_zone": "America/New_York",
            "start": "2026-12-03T00:00:00+01:00",
            "end": "2027-01-01T00:00:00Z",
            "params": {"campaigns": 5, "currency": "EUR"},
            "enabled": False,
        },
        RULES,
    )
    assert full.start == datetime(2026, 12, 2, 23, 0, tzinfo=UTC)
    assert full.as_dict()["start"] == "2026-12-02T23:00:00Z"
    assert full.params == {"campaigns": 5, "currency": "EUR"} and full.enabled is False


def test_every_error_is_reported_at_once_with_its_path():
    body = {
        "name": "-starts-with-dash",
        "source": "synthetic",
        "account": "a" * 129,
        "expression": "rate(5 minutes)",
        "time_zone": "Europe/Atlantis",
        "start": "tomorrow",
        "end": 42,
        "params": {"campaigns": 51, "currency": "eur", "unknown": True},
        "connection": "Has Spaces",
        "enabled": 1,
        "colour": "red",
    }
    assert errors(body) == [
        ("account", "length"),
        ("colour", "additionalProperties"),
        ("connection", "pattern"),
        ("enabled", "type"),
        ("end", "format"),
        ("expression", "minInterval"),
        ("name", "pattern"),
        ("params.campaigns", "maximum"),
        ("params.currency", "pattern"),
        ("params.unknown", "additionalProperties"),
        ("start", "format"),
        ("time_zone", "timezone"),
    ]


def test_required_fields_and_a_body_that_is_not_an_object():
    assert errors({}) == [
        ("account", "required"),
        ("expression", "required"),
        ("name", "required"),
        ("source", "required"),
    ]
    assert errors([GOOD]) == [("", "type")]
    assert errors({**GOOD, "source": "nope"}) == [("source", "enum")]
    assert errors({**GOOD, "source": 3}) == [("source", "type")]


@pytest.mark.parametrize("name", ["a", "daily_1", "x-y", "9", "a" * 45])
def test_names_that_fit_the_scheduler(name):
    assert parse_create({**GOOD, "name": name}, RULES).name == name


@pytest.mark.parametrize("name", ["", "A", "_x", "a" * 46, "a b", "é", 7])
def test_names_that_do_not(name):
    assert errors({**GOOD, "name": name})[0][0] == "name"


@pytest.mark.parametrize(
    ("account", "rule"),
    [
        ("", "length"),
        ("x" * 129, "length"),
        ("tab\there", "printable"),
        ("\x00", "printable"),
        (12, "type"),
    ],
)
def test_account_is_1_to_128_printable_characters(account, rule):
    assert errors({**GOOD, "account": account}) == [("account", rule)]
    assert parse_create({**GOOD, "account": "x" * 128}, RULES).account == "x" * 128


@pytest.mark.parametrize(
    ("account", "ok"),
    [("act_1234567890", True), ("1234567890", True), ("not-an-ad-account", False),
     ("act_", False), ("act_12x", False), ("act_" + "1" * 21, False)],
)  # fmt: skip
def test_an_account_the_connector_could_never_fetch_is_refused(account, ok):
    """Meta's ad accounts are act_<digits> (or the digits): anything else would fail every run,
    so it is a 400 at once; the synthetic connector takes any account."""
    body = {**GOOD, "source": "meta_insights", "connection": "meta", "account": account}
    if ok:
        assert parse_create(body, RULES).account == account
    else:
        assert errors(body) == [("account", "pattern")]
    assert parse_create({**GOOD, "account": account}, RULES).account == account


@pytest.mark.parametrize(
    "expression",
    [
        "rate(5 minute)",
        "rate(1 hours)",
        "cron(0 6 * * *)",
        "cron(0 6 * * MON *)",
        "every day",
        "at(2026-13-01T00:00:00)",
        None,
    ],
)
def test_expression_syntax(expression):
    assert errors({**GOOD, "expression": expression}) == [("expression", "syntax")]


@pytest.mark.parametrize(
    ("expression", "minutes", "ok"),
    [
        ("rate(59 minutes)", 60, False),
        ("rate(60 minutes)", 60, True),
        ("rate(1 hour)", 60, True),
        ("rate(1 day)", 1440, True),
        ("rate(23 hours)", 1440, False),
        ("cron(* * * * ? *)", 60, False),
        ("cron(* * * * ? *)", 1, True),
        ("cron(0,30 * * * ? *)", 60, False),
        ("cron(0,30 * * * ? *)", 30, True),
        ("cron(0 8,9 * * ? *)", 60, True),
        ("cron(0 8,9 * * ? *)", 61, False),
        # Across days: 23:10 then 00:10 the next day is 60 minutes (within a day, 23 hours).
        ("cron(10 0,23 * * ? *)", 60, True),
        ("cron(10 0,23 * * ? *)", 61, False),
        ("cron(0 6 ? * MON-FRI *)", 1440, True),
        ("cron(0 6 ? * MON-FRI *)", 1441, False),
    ],
)
def test_minimum_interval_for_rate_and_cron(expression, minutes, ok):
    rules = Rules(min_interval=timedelta(minutes=minutes), now=NOW)
    body = {**GOOD, "expression": expression}
    if ok:
        assert parse_create(body, rules).expression == expression
    else:
        assert errors(body, rules) == [("expression", "minInterval")]


def test_at_must_be_in_the_future_in_its_time_zone():
    # 06:30 in Berlin is 05:30 UTC: already past at NOW (06:00 UTC); in New York it is ahead.
    at = "at(2026-12-02T06:30:00)"
    assert errors({**GOOD, "expression": at, "time_zone": "Europe/Berlin"}) == [
        ("expression", "future")
    ]
    assert parse_create({**GOOD, "expression": at, "time_zone": "America/New_York"}, RULES)
    assert parse_create({**GOOD, "expression": at}, RULES), "06:30 UTC is after 06:00 UTC"
    assert errors({**GOOD, "expression": "at(2020-01-01T00:00:00)"}) == [("expression", "future")]
    # A wall-clock time that does not exist (spring forward) never fires.
    gap = {**GOOD, "expression": "at(2027-03-14T02:30:00)", "time_zone": "America/New_York"}
    assert errors(gap) == [("expression", "future")]
    # at() is one fire: no minimum interval applies.
    assert parse_create({**GOOD, "expression": "at(2026-12-02T06:01:00)"}, RULES)


def test_start_end_rules():
    assert errors({**GOOD, "start": "2027-01-02T00:00:00Z", "end": "2027-01-01T00:00:00Z"}) == [
        ("end", "afterStart")
    ]
    assert errors({**GOOD, "start": "2026-12-02T05:54:00Z"}) == [("start", "past")]
    assert parse_create({**GOOD, "start": "2026-12-02T05:56:00Z"}, RULES).start is not None
    assert errors({**GOOD, "start": "2026-12-03T00:00:00"}) == [("start", "format")], "no offset"
    assert errors({**GOOD, "end": "2026-12-02T06:30:00Z"}) == [("expression", "neverFires")]
    assert errors({**GOOD, "expression": "cron(0 6 * * ? 2025)"}) == [("expression", "neverFires")]
    assert errors({**GOOD, "end": "2026-12-31T24:00:00Z"}) == [("end", "format")]


def test_params_are_checked_against_the_connectors_schema():
    assert errors({**GOOD, "params": {"campaigns": "3", "seed": []}}) == [
        ("params.campaigns", "type"),
        ("params.seed", "type"),
    ]
    assert errors({**GOOD, "params": []}) == [("params", "type")]
    assert parse_create({**GOOD, "params": None}, RULES).params == {}


def test_connection_only_when_the_connector_needs_one():
    assert errors({**GOOD, "connection": "main"}) == [("connection", "notAllowed")]
    assert parse_create({**GOOD, "connection": None}, RULES).connection is None


# ---- PATCH -------------------------------------------------------------------------------------

CURRENT = parse_create({**GOOD, "params": {"campaigns": 2}}, RULES)


def patch_errors(body) -> list[tuple[str, str]]:
    with pytest.raises(InvalidSchedule) as caught:
        apply_patch(CURRENT, body, RULES)
    return [(e.path, e.rule) for e in caught.value.errors]


def test_patch_merges_and_keeps_what_it_does_not_name():
    changed = apply_patch(CURRENT, {"expression": "rate(2 hours)", "enabled": False}, RULES)
    assert changed.expression == "rate(2 hours)" and changed.enabled is False
    assert changed.params == {"campaigns": 2} and changed.name == "daily"
    assert apply_patch(CURRENT, {"params": {"seed": 1}}, RULES).params == {"seed": 1}
    assert apply_patch(CURRENT, {}, RULES) == CURRENT
    # A client sending back what it read: the identity fields unchanged are no error.
    assert apply_patch(CURRENT, {**CURRENT.as_dict(), "enabled": False}, RULES).enabled is False


def test_patch_refuses_identity_fields_unknown_fields_and_a_bad_merge_all_at_once():
    assert patch_errors(
        {"name": "x", "source": "other", "account": "b", "id": 1, "time_zone": "UTC+1"}
    ) == [
        ("account", "readOnly"),
        ("id", "additionalProperties"),
        ("name", "readOnly"),
        ("source", "readOnly"),
        ("time_zone", "timezone"),
    ]
    assert patch_errors({"expression": "rate(1 minute)", "params": {"campaigns": 0}}) == [
        ("expression", "minInterval"),
        ("params.campaigns", "minimum"),
    ]
    assert patch_errors("enabled") == [("", "type")]


def test_patch_start_in_the_past_only_when_given():
    started = Schedule(**{**CURRENT.__dict__, "start": NOW - timedelta(days=30)})
    # A stored start long past is kept; a PATCH that sets one in the past is refused.
    assert apply_patch(started, {"enabled": False}, RULES).start == started.start
    with pytest.raises(InvalidSchedule):
        apply_patch(started, {"start": "2026-11-01T00:00:00Z"}, RULES)
