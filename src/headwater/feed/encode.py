"""Serialise rows the way each contract format expects them on the wire."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from headwater.feed.values import Row


def csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def to_csv_text(columns: Sequence[str], rows: list[Row]) -> str:
    buffer = io.StringIO()
    # "\n" line endings: what most exporters on Linux write; the csv module would default to CRLF.
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_cell(row.get(c)) for c in columns])
    return buffer.getvalue()


def to_ndjson_text(columns: Sequence[str], rows: list[Row]) -> str:
    return "".join(
        json.dumps({c: row[c] for c in columns if c in row}, ensure_ascii=False) + "\n"
        for row in rows
    )


def to_json_text(columns: Sequence[str], rows: list[Row]) -> str:
    objects = [{c: row[c] for c in columns if c in row} for row in rows]
    return json.dumps(objects, ensure_ascii=False, indent=1) + "\n"


def encode(fmt: str, columns: Sequence[str], rows: list[Row]) -> str:
    """Text of a file in ``fmt`` (csv, ndjson, json); callers choose the byte encoding."""
    return {"csv": to_csv_text, "ndjson": to_ndjson_text, "json": to_json_text}[fmt](columns, rows)
