"""Validate a POST body against its dataset: every error at once, each with a path and a rule.

The body is one record (an object) or a batch (an array of 1 to ``MAX_BATCH`` records). Each
record is checked against the dataset's record schema (``json_schema.record_schema``, the schema
API Gateway checks too) with jsonschema's ``Draft4Validator.iter_errors``, which yields every
violation rather than the first. The schema only says what a date or timestamp looks like (a
pattern); a value that matches and still names no real day or instant (month 13, 24:00) is an
error here too. A float64 must be a finite IEEE double (JSON's ``1e400`` parses as infinity)
within DynamoDB's number range (``5e-324`` is a double DynamoDB cannot store).

Paths name the field as a client would write it: ``amount`` for a single record,
``records[3].amount`` for the fourth record of a batch, ``records`` for the batch itself.

Sizes, both answered 413 (the body is well-formed, just too large):

- ``request_limit(dataset)``: the body's bytes, checked before it is parsed, so a huge body
  costs no parsing: a full batch of records at the dataset's limit, plus ``BODY_OVERHEAD`` for
  the array and whitespace, capped at ``MAX_REQUEST_BYTES`` (Lambda's synchronous invocation
  payload limit is 6 MB, and the proxy event carries headers besides the body);
- ``max_record_bytes``: each record's compact JSON (UTF-8), reported per record.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from jsonschema import Draft4Validator

from headwater.records.declarations import MAX_BATCH, RecordDataset
from headwater.records.json_schema import record_schema

BODY_OVERHEAD = 64 * 1024
MAX_REQUEST_BYTES = 5 * 1024 * 1024
BATCH_PATH = "records"
# DynamoDB's number range (magnitudes; 0 too): a float64 outside it cannot be stored.
DYNAMODB_MIN, DYNAMODB_MAX = 1e-130, 9.99e125


@dataclass(frozen=True)
class FieldError:
    path: str
    rule: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "rule": self.rule, "message": self.message}


class InvalidBody(Exception):
    """400: the body is not JSON, or records break their schema (``errors``: every one)."""

    def __init__(self, message: str, errors: list[FieldError]) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors


class TooLarge(Exception):
    """413: the body, or records of it (``errors``), exceed their limit."""

    def __init__(self, message: str, errors: list[FieldError]) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors


def request_limit(dataset: RecordDataset) -> int:
    return min(MAX_BATCH * dataset.max_record_bytes + BODY_OVERHEAD, MAX_REQUEST_BYTES)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_body(dataset: RecordDataset, raw: bytes) -> Any:
    """The parsed body, after the request size check (413) and strict JSON parsing (400)."""
    limit = request_limit(dataset)
    if len(raw) > limit:
        raise TooLarge(f"request body of {len(raw)} bytes is over the limit of {limit} bytes", [])
    try:
        # NaN and Infinity are Python's extensions, not JSON: refuse them like any bad token.
        body = json.loads(raw, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError too
        raise InvalidBody(f"the body is not valid JSON: {exc}", []) from None
    try:
        # JSON admits "\ud800" escapes that name no character; nothing could store them.
        json.dumps(body, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        raise InvalidBody(
            "the body has a lone UTF-16 surrogate escape (no character)", []
        ) from None
    return body


@functools.lru_cache(maxsize=64)
def _validator_of(schema_text: str) -> Draft4Validator:
    return Draft4Validator(json.loads(schema_text))


def _validator(dataset: RecordDataset) -> Draft4Validator:
    # Keyed by the schema's text: a declaration (its limits are a dict) is not hashable.
    return _validator_of(json.dumps(record_schema(dataset), sort_keys=True))


def records_of(dataset: RecordDataset, body: Any) -> list[dict[str, Any]]:
    """The records of a parsed body, in order; raises InvalidBody with every error, then
    TooLarge for records over ``max_record_bytes``."""
    if isinstance(body, list):
        if not 1 <= len(body) <= MAX_BATCH:
            raise InvalidBody(
                f"a batch holds 1 to {MAX_BATCH} records",
                [
                    FieldError(
                        BATCH_PATH,
                        "minItems" if not body else "maxItems",
                        f"{len(body)} records; a batch holds 1 to {MAX_BATCH}",
                    )
                ],
            )
        prefixes = [f"{BATCH_PATH}[{i}]" for i in range(len(body))]
        records = body
    elif isinstance(body, dict):
        prefixes, records = [""], [body]
    else:
        raise InvalidBody(
            "the body must be a record (an object) or a batch (an array of records)",
            [FieldError("", "type", f"{type(body).__name__} is neither an object nor an array")],
        )
    # Record by record, and inside one by path: a stable order whatever the schema's.
    errors = [
        e
        for prefix, r in zip(prefixes, records, strict=True)
        for e in sorted(_errors(dataset, r, prefix), key=lambda e: e.path)
    ]
    if errors:
        noun = "record" if len(records) == 1 else "records"
        raise InvalidBody(f"{len(errors)} error(s) in the posted {noun}", errors)
    too_large = []
    for prefix, record in zip(prefixes, records, strict=True):
        size = len(json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode())
        if size > dataset.max_record_bytes:
            too_large.append(
                FieldError(
                    prefix,
                    "max_record_bytes",
                    f"{size} bytes of compact JSON; the limit is {dataset.max_record_bytes}",
                )
            )
    if too_large:
        raise TooLarge(f"{len(too_large)} record(s) over the size limit", too_large)
    return [_normalized(dataset, r) for r in records]


def _join(prefix: str, name: str | int) -> str:
    if isinstance(name, int):
        return f"{prefix}[{name}]"
    return f"{prefix}.{name}" if prefix else name


def _errors(dataset: RecordDataset, record: Any, prefix: str) -> Iterator[FieldError]:
    schema_errors = list(_validator(dataset).iter_errors(record))
    failed = set()
    missing_reported = set()
    for error in schema_errors:
        where = prefix
        for part in error.absolute_path:
            where = _join(where, part)
        failed.add(tuple(error.absolute_path))
        if error.validator == "required":
            # One error per missing name, each carrying the whole list: report each name once.
            for name in error.validator_value:
                path = _join(where, name)
                if name not in error.instance and path not in missing_reported:
                    missing_reported.add(path)
                    yield FieldError(path, "required", f"{name!r} is required")
        elif error.validator == "additionalProperties" and isinstance(error.instance, dict):
            known = set(dataset.names)
            for name in sorted(set(error.instance) - known):
                yield FieldError(_join(where, name), "additionalProperties", "unknown field")
        else:
            yield FieldError(where or "(record)", str(error.validator), error.message)
    if not isinstance(record, dict):
        return
    # Values the schema admitted: the checks a draft-4 schema cannot express.
    for field in dataset.fields:
        value = record.get(field.name)
        if value is None or (field.name,) in failed:
            continue
        problem = _value_problem(field.type, value)
        if problem:
            yield FieldError(_join(prefix, field.name), field.type, problem)


_LOWER_T_Z = re.compile(r"[tz]")


def _value_problem(type_name: str, value: Any) -> str | None:
    if type_name == "date":
        try:
            date.fromisoformat(value)
        except ValueError as exc:
            return f"{value!r} is not a calendar date: {exc}"
    elif type_name == "timestamp":
        try:
            # RFC 3339 allows lower-case t and z; fromisoformat wants them upper-case.
            datetime.fromisoformat(_LOWER_T_Z.sub(lambda m: m.group().upper(), value))
        except ValueError as exc:
            return f"{value!r} is not an instant: {exc}"
    elif type_name == "float64" and isinstance(value, int | float) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:  # an integer of hundreds of digits
            number = math.inf
        if not math.isfinite(number):
            return "not a finite 64-bit float"
        if number and not DYNAMODB_MIN <= abs(number) <= DYNAMODB_MAX:
            return "outside the range a record can store (1E-130 to 9.99E+125 in magnitude, or 0)"
    return None


def _normalized(dataset: RecordDataset, record: dict[str, Any]) -> dict[str, Any]:
    """float64 values as floats: an integer posted to a float64 field is stored as the double
    it denotes (DynamoDB keeps 38 digits; a double's shortest form has at most 17)."""
    out = dict(record)
    for field in dataset.fields:
        value = out.get(field.name)
        if field.type == "float64" and isinstance(value, int) and not isinstance(value, bool):
            out[field.name] = float(value)
    return out
