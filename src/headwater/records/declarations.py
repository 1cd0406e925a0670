"""Record dataset declarations: TOML files naming typed fields, which are required, and limits.

Packaged in ``headwater/datasets/records``; ``RECORDS_DIR`` points at another directory. The
field types are the shared core's column types (``headwater.contracts.schema.COLUMN_TYPES``), so
a record field maps to the same Arrow type as an ingest column when the weekly export writes it.

A field may carry limits by type: strings ``min_length``, ``max_length``, ``pattern`` (a
regular expression) and ``enum``; ``int64`` and ``float64`` ``minimum`` and ``maximum``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from headwater.contracts import declarations
from headwater.contracts.rules import ContractError
from headwater.contracts.schema import COLUMN_TYPES

# Dataset names are URL path segments and parts of DynamoDB keys ("<dataset>#<day>#<shard>").
DATASET_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}\Z")
# Field names are JSON keys and Parquet column names.
FIELD_NAME = re.compile(r"[a-z_][a-z0-9_]{0,63}\Z")
# A batch holds at most this many records (one BatchWriteItem takes 25; the handler splits).
MAX_BATCH = 100
# A record is one DynamoDB item, at most 400 KB with its keys and attributes: keep room for them.
MAX_RECORD_BYTES = 350_000
MAX_SHARDS = 100

LIMITS_BY_TYPE: Mapping[str, frozenset[str]] = {
    "string": frozenset({"min_length", "max_length", "pattern", "enum"}),
    "int64": frozenset({"minimum", "maximum"}),
    "float64": frozenset({"minimum", "maximum"}),
    "bool": frozenset(),
    "date": frozenset(),
    "timestamp": frozenset(),
}


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    required: bool = False
    # Only the limits the declaration sets, by name (see LIMITS_BY_TYPE).
    limits: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordDataset:
    dataset: str
    fields: tuple[Field, ...]
    description: str = ""
    shards: int = 4
    max_record_bytes: int = 4096
    source: str = ""

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.fields]

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)


def parse_record_dataset(data: Mapping[str, Any], source: str) -> RecordDataset:
    """Validate one parsed TOML document; errors name the file and the field."""

    def fail(where: str, problem: str) -> ContractError:
        return ContractError(f"{source}: field {where!r}: {problem}")

    allowed = {"dataset", "description", "shards", "max_record_bytes", "fields"}
    extra = sorted(set(data) - allowed)
    if extra:
        raise fail(extra[0], f"unknown field (allowed: {', '.join(sorted(allowed))})")
    name = data.get("dataset")
    if not isinstance(name, str) or not DATASET_NAME.match(name):
        raise fail("dataset", "required: lower-case letters, digits, '-' and '_' (a URL segment)")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise fail("description", "must be a string")
    shards = _integer(data.get("shards", 4), 1, MAX_SHARDS, lambda p: fail("shards", p))
    max_bytes = _integer(
        data.get("max_record_bytes", 4096),
        64,
        MAX_RECORD_BYTES,
        lambda p: fail("max_record_bytes", p),
    )
    raw_fields = data.get("fields")
    if not isinstance(raw_fields, list) or not raw_fields:
        raise fail("fields", "required, at least one [[fields]] table")
    fields: list[Field] = []
    for i, raw in enumerate(raw_fields):
        fields.append(_parse_field(raw, f"fields[{i}]", fail))
        if fields[-1].name in {f.name for f in fields[:-1]}:
            raise fail(f"fields[{i}].name", f"duplicate field {fields[-1].name!r}")
    return RecordDataset(name, tuple(fields), description, shards, max_bytes, source)


def _integer(value: Any, low: int, high: int, fail: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise fail(f"an integer from {low} to {high}")
    return value


def _parse_field(raw: Any, where: str, fail: Any) -> Field:
    if not isinstance(raw, dict):
        raise fail(where, "must be a table")
    name, type_name = raw.get("name"), raw.get("type")
    if not isinstance(name, str) or not FIELD_NAME.match(name):
        raise fail(f"{where}.name", "required: lower-case letters, digits and '_'")
    if type_name not in COLUMN_TYPES:
        raise fail(f"{where}.type", f"must be one of {', '.join(COLUMN_TYPES)}")
    required = raw.get("required", False)
    if not isinstance(required, bool):
        raise fail(f"{where}.required", "must be true or false")
    allowed = LIMITS_BY_TYPE[type_name]
    limits = {k: v for k, v in raw.items() if k not in {"name", "type", "required"}}
    for key, value in limits.items():
        if key not in allowed:
            rules = ", ".join(sorted(allowed)) or "none"
            raise fail(f"{where}.{key}", f"not a limit of type {type_name} (its limits: {rules})")
        _check_limit(key, value, type_name, lambda p, k=key: fail(f"{where}.{k}", p))
    for low, high in (("min_length", "max_length"), ("minimum", "maximum")):
        if low in limits and high in limits and limits[low] > limits[high]:
            raise fail(f"{where}.{low}", f"greater than {high}")
    return Field(name, type_name, required, limits)


def _check_limit(key: str, value: Any, type_name: str, fail: Any) -> None:
    if key in {"min_length", "max_length"}:
        _integer(value, 0, MAX_RECORD_BYTES, fail)
    elif key == "pattern":
        if not isinstance(value, str):
            raise fail("must be a regular expression string")
        try:
            re.compile(value)
        except re.error as exc:
            raise fail(f"invalid regular expression: {exc}") from exc
    elif key == "enum":
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise fail("must be a non-empty list of strings")
    else:  # minimum, maximum
        number = (int,) if type_name == "int64" else (int, float)
        if isinstance(value, bool) or not isinstance(value, number):
            raise fail(f"must be a number of the field's type ({type_name})")


def parse_record_documents(documents: Iterable[tuple[str, str]]) -> dict[str, RecordDataset]:
    found: dict[str, RecordDataset] = {}
    for declaration in declarations.parse_documents(documents):
        dataset = parse_record_dataset(declaration.data, declaration.source)
        if dataset.dataset in found:
            raise ContractError(
                f"{declaration.source}: dataset {dataset.dataset!r} is also declared in "
                f"{found[dataset.dataset].source}"
            )
        found[dataset.dataset] = dataset
    return found


def load_record_datasets(
    directory: str | os.PathLike[str] | None = None,
) -> dict[str, RecordDataset]:
    """Every ``*.toml`` record dataset from ``directory``, ``$RECORDS_DIR`` or the package."""
    directory = directory or os.environ.get("RECORDS_DIR") or None
    return parse_record_documents(declarations.read_documents("records", directory))
