"""Row-at-a-time validation with the standard library.

Used where Arrow cannot help: the JSON-array reader (records arrive one by one from an incremental
parser) and the diagnostic pass that re-reads a file Arrow rejected to name the exact row and
column. The rules mirror the Arrow readers' options in ``headwater.ingest.convert``; lookup
validates every row with it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import Any

from headwater.contracts.rules import (
    MISSING_COLUMN,
    NULL_VALUE,
    TYPE_MISMATCH,
    UNEXPECTED_COLUMN,
    ContractViolation,
)
from headwater.contracts.schema import Column, Contract

# The same spellings pyarrow.csv accepts by default.
CSV_TRUE = frozenset({"1", "True", "TRUE", "true"})
CSV_FALSE = frozenset({"0", "False", "FALSE", "false"})
_INT = re.compile(r"[+-]?\d+\Z")
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1


def _int(value: int) -> int:
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise ValueError("out of int64 range")
    return value


def _timestamp(text: str, require_offset: bool) -> dt.datetime:
    value = dt.datetime.fromisoformat(text)
    if value.tzinfo is None:
        if require_offset:
            raise ValueError("a zone offset (e.g. Z or +01:00) is required")
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def _from_text(type_name: str) -> Callable[[str], Any]:
    """Converters for CSV fields (always text)."""

    def to_bool(text: str) -> bool:
        if text in CSV_TRUE:
            return True
        if text in CSV_FALSE:
            return False
        raise ValueError("not a boolean")

    def to_int(text: str) -> int:
        if not _INT.match(text):
            raise ValueError("not an integer")
        return _int(int(text))

    return {
        "string": str,
        "int64": to_int,
        "float64": float,
        "bool": to_bool,
        "date": lambda t: dt.date.fromisoformat(t),
        "timestamp": lambda t: _timestamp(t, require_offset=True),
    }[type_name]


def _from_json(type_name: str) -> Callable[[Any], Any]:
    """Converters for JSON values (already typed by the JSON parser)."""

    def expect(*types: type) -> Callable[[Any], Any]:
        def check(value: Any) -> Any:
            # bool is an int subclass in Python but not a number in JSON.
            if isinstance(value, bool) and bool not in types:
                raise ValueError("a boolean")
            if not isinstance(value, types):
                raise ValueError(f"a {type(value).__name__}")
            return value

        return check

    def text_then(parse: Callable[[str], Any]) -> Callable[[Any], Any]:
        return lambda value: parse(expect(str)(value))

    return {
        "string": expect(str),
        "int64": lambda v: _int(expect(int)(v)),
        "float64": lambda v: float(expect(int, float)(v)),
        "bool": expect(bool),
        "date": text_then(dt.date.fromisoformat),
        "timestamp": text_then(lambda t: _timestamp(t, require_offset=False)),
    }[type_name]


class RowValidator:
    """Validate and convert one record (dict of column -> raw value) against a contract."""

    def __init__(self, contract: Contract, *, text_values: bool) -> None:
        self.contract = contract
        self.text_values = text_values
        make = _from_text if text_values else _from_json
        self._columns: list[tuple[Column, Callable[[Any], Any]]] = [
            (c, make(c.type)) for c in contract.columns
        ]
        self._names = frozenset(contract.names)
        # Text (CSV) only: a declared missing-value token is null whatever the column's type.
        self._null_text = frozenset(contract.null_values) if text_values else frozenset()

    def check_names(self, names: list[str], row: int | None) -> None:
        unexpected = [n for n in names if n not in self._names]
        if unexpected:
            raise ContractViolation(
                UNEXPECTED_COLUMN,
                f"column {unexpected[0]!r} is not in the {self.contract.dataset!r} contract",
                row=row,
                column=unexpected[0],
            )

    def convert(self, record: Mapping[str, Any], row: int) -> dict[str, Any]:
        self.check_names(list(record), row)
        out: dict[str, Any] = {}
        for column, parse in self._columns:
            if column.name not in record:
                if not column.nullable:
                    raise ContractViolation(
                        MISSING_COLUMN,
                        f"required column {column.name!r} is missing",
                        row=row,
                        column=column.name,
                    )
                out[column.name] = None
                continue
            value = record[column.name]
            # CSV has no null: the declared tokens mean null (Arrow's null_values, same list).
            if value is None or (self.text_values and value in self._null_text):
                if not column.nullable:
                    raise ContractViolation(
                        NULL_VALUE,
                        f"column {column.name!r} is not nullable but has no value",
                        row=row,
                        column=column.name,
                    )
                out[column.name] = None
                continue
            try:
                out[column.name] = parse(value)
            except (ValueError, TypeError, OverflowError) as exc:
                shown = value[:40] + "…" if isinstance(value, str) and len(value) > 40 else value
                raise ContractViolation(
                    TYPE_MISMATCH,
                    f"column {column.name!r} expects {column.type}, got {shown!r} ({exc})",
                    row=row,
                    column=column.name,
                ) from None
        return out
