"""Key positions, range bounds and cursor values as text for the state table.

A keyset position (the last key written), a range bound and a high-water mark are Python values
of the column's type (int, str, datetime, date, Decimal, bytes ...). They are stored as a JSON
array of ``[type, text]`` pairs so they come back as the same type, exactly (no float rounding,
no time zone lost), and are bound as query parameters again, never pasted into SQL.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any


def _encode_one(value: Any) -> list[str | None]:
    if value is None:
        return ["null", None]
    if isinstance(value, bool):
        return ["bool", "true" if value else "false"]
    if isinstance(value, int):
        return ["int", str(value)]
    if isinstance(value, float):
        return ["float", repr(value)]
    if isinstance(value, Decimal):
        return ["decimal", str(value)]
    if isinstance(value, str):
        return ["str", value]
    if isinstance(value, datetime):
        return ["datetime", value.isoformat()]
    if isinstance(value, date):
        return ["date", value.isoformat()]
    if isinstance(value, time):
        return ["time", value.isoformat()]
    if isinstance(value, bytes):
        return ["bytes", base64.b64encode(value).decode("ascii")]
    if isinstance(value, uuid.UUID):
        return ["str", str(value)]
    raise ValueError(f"a key or cursor value of type {type(value).__name__} cannot be stored")


def _decode_one(pair: Any) -> Any:
    if not (isinstance(pair, list) and len(pair) == 2):
        raise ValueError(f"not a stored value: {pair!r}")
    kind, text = pair
    decoders = {
        "null": lambda _t: None,
        "bool": lambda t: t == "true",
        "int": int,
        "float": float,
        "decimal": Decimal,
        "str": str,
        "datetime": datetime.fromisoformat,
        "date": date.fromisoformat,
        "time": time.fromisoformat,
        "bytes": base64.b64decode,
    }
    if kind not in decoders:
        raise ValueError(f"unknown stored value type {kind!r}")
    return decoders[kind](text)


def encode(values: tuple[Any, ...] | None) -> str | None:
    """A tuple of values as text (None stays None)."""
    if values is None:
        return None
    return json.dumps([_encode_one(v) for v in values], separators=(",", ":"))


def decode(text: str | None) -> tuple[Any, ...] | None:
    """The tuple ``encode`` wrote (None stays None)."""
    if text is None:
        return None
    return tuple(_decode_one(pair) for pair in json.loads(text))


def encode_value(value: Any) -> str | None:
    return None if value is None else encode((value,))


def decode_value(text: str | None) -> Any:
    values = decode(text)
    return None if values is None else values[0]
