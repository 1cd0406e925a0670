"""Validation of a POST body: every error with its path and rule, strict dates and timestamps,
sizes (413), strict JSON."""

from __future__ import annotations

import json

import pytest

from headwater.records import validation
from headwater.records.declarations import MAX_BATCH, load_record_datasets, parse_record_documents
from tests.support.records import GOOD

ORDERS = load_record_datasets()["orders"]


def errors_of(body, dataset=ORDERS) -> list[tuple[str, str]]:
    with pytest.raises(validation.InvalidBody) as caught:
        validation.records_of(dataset, body)
    return [(e.path, e.rule) for e in caught.value.errors]


def test_valid_record_and_batch_come_back_as_a_list():
    assert validation.records_of(ORDERS, GOOD) == [GOOD]
    assert validation.records_of(ORDERS, [GOOD, GOOD]) == [GOOD, GOOD]


def test_every_error_of_a_record_is_reported():
    bad = {
        "customer_id": "c" * 65,
        "amount": "12",
        "currency": "JPY",
        "quantity": 0,
        "placed_at": "yesterday",
        "gift": 1,
        "colour": "red",
        "size": 2,
    }
    assert sorted(errors_of(bad)) == [
        ("amount", "type"),
        ("colour", "additionalProperties"),
        ("currency", "enum"),
        ("customer_id", "maxLength"),
        ("gift", "type"),
        ("order_id", "required"),
        ("placed_at", "pattern"),
        ("quantity", "minimum"),
        ("size", "additionalProperties"),
    ]


def test_batch_paths_name_the_record():
    body = [GOOD, {**GOOD, "amount": -1}, GOOD, {k: v for k, v in GOOD.items() if k != "currency"}]
    assert errors_of(body) == [
        ("records[1].amount", "minimum"),
        ("records[3].currency", "required"),
    ]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ([], [("records", "minItems")]),
        ([GOOD] * (MAX_BATCH + 1), [("records", "maxItems")]),
        (3, [("", "type")]),
        (None, [("", "type")]),
        ([GOOD, 3], [("records[1]", "type")]),
    ],
)
def test_bodies_of_the_wrong_shape(body, expected):
    assert errors_of(body) == expected


@pytest.mark.parametrize(
    "value",
    [
        "2026-13-01T00:00:00Z",
        "2026-02-30T00:00:00Z",
        "2026-12-01T24:00:00Z",
        "2026-12-01T23:59:60Z",
        "2026-12-01T10:00:00+24:00",
    ],
)
def test_timestamps_that_match_the_pattern_but_are_no_instant(value):
    assert errors_of({**GOOD, "placed_at": value}) == [("placed_at", "timestamp")]


@pytest.mark.parametrize(
    "value",
    [
        "2026-12-01T10:00:00Z",
        "2026-12-01t10:00:00z",
        "2026-12-01 10:00:00+01:00",
        "2026-12-01T10:00:00.123456789-03:30",
    ],
)
def test_rfc3339_timestamps_are_accepted(value):
    assert validation.records_of(ORDERS, {**GOOD, "placed_at": value})


def test_dates_are_real_days_and_floats_finite():
    [dataset] = parse_record_documents(
        [
            (
                "a.toml",
                'dataset = "a"\n[[fields]]\nname = "day"\ntype = "date"\n'
                '[[fields]]\nname = "x"\ntype = "float64"\n',
            )
        ]
    ).values()
    assert validation.records_of(dataset, {"day": "2024-02-29", "x": 9.9e125})
    assert errors_of({"day": "2026-02-29"}, dataset) == [("day", "date")]
    assert errors_of({"x": float("inf")}, dataset) == [("x", "float64")]
    assert errors_of({"x": float("-inf")}, dataset) == [("x", "float64")]
    # Doubles DynamoDB cannot store (its numbers span 1E-130 to 9.99E+125) and huge integers.
    for value in (5e-324, -1e-131, 1e126, 10**400):
        assert errors_of({"x": value}, dataset) == [("x", "float64")], value
    assert validation.records_of(dataset, {"x": 0.0}) == [{"x": 0.0}]
    # An integer posted to a float64 field is the double it denotes.
    [record] = validation.records_of(dataset, {"x": 10**30 + 1})
    assert record == {"x": 1e30} and type(record["x"]) is float


def test_a_record_over_its_byte_limit_is_413_with_its_path():
    [dataset] = parse_record_documents(
        [
            (
                "a.toml",
                'dataset = "a"\nmax_record_bytes = 64\n[[fields]]\nname = "t"\ntype = "string"\n',
            )
        ]
    ).values()
    fits = {"t": "é" * 28}  # {"t":"..."} = 8 bytes + 56 bytes of UTF-8: exactly 64
    assert len(json.dumps(fits, ensure_ascii=False, separators=(",", ":")).encode()) == 64
    assert validation.records_of(dataset, [fits])
    with pytest.raises(validation.TooLarge) as caught:
        validation.records_of(dataset, [fits, {"t": "é" * 29}, fits, {"t": "x" * 100}])
    assert [(e.path, e.rule) for e in caught.value.errors] == [
        ("records[1]", "max_record_bytes"),
        ("records[3]", "max_record_bytes"),
    ]
    with pytest.raises(validation.TooLarge) as caught:
        validation.records_of(dataset, {"t": "x" * 100})
    assert caught.value.errors[0].path == ""


def test_request_limit_before_parsing_and_strict_json():
    limit = validation.request_limit(ORDERS)
    assert limit == MAX_BATCH * ORDERS.max_record_bytes + validation.BODY_OVERHEAD
    body = json.dumps(GOOD).encode()
    assert validation.parse_body(ORDERS, body + b" " * (limit - len(body))) == GOOD
    with pytest.raises(validation.TooLarge, match="over the limit"):
        validation.parse_body(ORDERS, body + b" " * (limit - len(body) + 1))
    for bad in (b"{", b"NaN", b'{"amount": Infinity}', b"\xff\xfe", b""):
        with pytest.raises(validation.InvalidBody, match="not valid JSON"):
            validation.parse_body(ORDERS, bad)
    for lone in (b'{"note": "\\ud800"}', b'{"\\udc00": 1}'):
        with pytest.raises(validation.InvalidBody, match="surrogate"):
            validation.parse_body(ORDERS, lone)
    assert validation.parse_body(ORDERS, b'{"note": "\\ud83d\\ude00"}') == {"note": "\U0001f600"}


def test_request_limit_is_capped_for_large_records():
    [dataset] = parse_record_documents(
        [
            (
                "a.toml",
                'dataset = "a"\nmax_record_bytes = 300000\n'
                '[[fields]]\nname = "t"\ntype = "string"\n',
            )
        ]
    ).values()
    assert validation.request_limit(dataset) == validation.MAX_REQUEST_BYTES
