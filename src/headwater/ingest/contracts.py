"""Dataset contracts: TOML files declaring format, typed columns and an optional primary key.

The packaged contracts live in ``headwater/contracts``; ``CONTRACTS_DIR`` points at another
directory (a team can ship its own contracts without rebuilding the package).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import PurePosixPath
from typing import Any

from headwater.ingest.errors import (
    UNKNOWN_DATASET,
    UNSUPPORTED_FORMAT,
    ContractError,
    ContractViolation,
)

COLUMN_TYPES = ("string", "int64", "float64", "bool", "date", "timestamp")
FORMAT_EXTENSIONS: Mapping[str, tuple[str, ...]] = {
    "csv": (".csv",),
    "ndjson": (".ndjson", ".jsonl"),
    "json": (".json",),
}


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    nullable: bool


@dataclass(frozen=True)
class Contract:
    dataset: str
    prefix: str
    format: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    source: str = ""

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def extension(self) -> str:
        """The canonical file extension of the format, without the dot ("csv", "ndjson")."""
        return FORMAT_EXTENSIONS[self.format][0].lstrip(".")

    def required(self) -> list[Column]:
        """The non-nullable columns."""
        return [c for c in self.columns if not c.nullable]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def arrow_schema(self) -> Any:
        """The explicit Arrow schema written to Parquet (pyarrow imported lazily: cold start)."""
        import pyarrow as pa

        return pa.schema(
            [pa.field(c.name, arrow_type(c.type), nullable=c.nullable) for c in self.columns]
        )


def arrow_type(type_name: str) -> Any:
    import pyarrow as pa

    return {
        "string": pa.string(),
        "int64": pa.int64(),
        "float64": pa.float64(),
        "bool": pa.bool_(),
        "date": pa.date32(),
        # Instants are stored in UTC; CSV values must carry an offset, JSON ones may omit it (UTC).
        "timestamp": pa.timestamp("us", tz="UTC"),
    }[type_name]


def parse_contract(data: Mapping[str, Any], source: str) -> Contract:
    """Validate one parsed TOML document; errors name the file and the field."""

    def fail(field: str, problem: str) -> ContractError:
        return ContractError(f"{source}: field {field!r}: {problem}")

    for field in ("dataset", "prefix", "format"):
        value = data.get(field)
        if not isinstance(value, str) or not value:
            raise fail(field, "required, a non-empty string")
    allowed = {"dataset", "prefix", "format", "primary_key", "columns"}
    extra = sorted(set(data) - allowed)
    if extra:
        raise fail(extra[0], f"unknown field (allowed: {', '.join(sorted(allowed))})")
    if not data["prefix"].endswith("/") or data["prefix"].startswith("/"):
        raise fail("prefix", "must end with '/' and must not start with '/'")
    if data["format"] not in FORMAT_EXTENSIONS:
        raise fail("format", f"must be one of {', '.join(FORMAT_EXTENSIONS)}")

    raw_columns = data.get("columns")
    if not isinstance(raw_columns, list) or not raw_columns:
        raise fail("columns", "required, at least one [[columns]] table")
    columns: list[Column] = []
    for i, raw in enumerate(raw_columns):
        where = f"columns[{i}]"
        if not isinstance(raw, dict):
            raise fail(where, "must be a table")
        name, type_name = raw.get("name"), raw.get("type")
        nullable = raw.get("nullable", True)
        if not isinstance(name, str) or not name:
            raise fail(f"{where}.name", "required, a non-empty string")
        if type_name not in COLUMN_TYPES:
            raise fail(f"{where}.type", f"must be one of {', '.join(COLUMN_TYPES)}")
        if not isinstance(nullable, bool):
            raise fail(f"{where}.nullable", "must be true or false")
        unknown = sorted(set(raw) - {"name", "type", "nullable"})
        if unknown:
            raise fail(f"{where}.{unknown[0]}", "unknown field")
        if any(c.name == name for c in columns):
            raise fail(f"{where}.name", f"duplicate column {name!r}")
        columns.append(Column(name, type_name, nullable))

    primary_key = data.get("primary_key", [])
    if not isinstance(primary_key, list) or not all(isinstance(k, str) for k in primary_key):
        raise fail("primary_key", "must be a list of column names")
    names = {c.name for c in columns}
    for key in primary_key:
        if key not in names:
            raise fail("primary_key", f"{key!r} is not a declared column")
        if next(c for c in columns if c.name == key).nullable:
            raise fail("primary_key", f"key column {key!r} must be nullable = false")
    return Contract(
        dataset=data["dataset"],
        prefix=data["prefix"],
        format=data["format"],
        columns=tuple(columns),
        primary_key=tuple(primary_key),
        source=source,
    )


def load_contracts(directory: str | os.PathLike[str] | None = None) -> list[Contract]:
    """Load every ``*.toml`` contract from ``directory``, ``$CONTRACTS_DIR`` or the package."""
    directory = directory or os.environ.get("CONTRACTS_DIR") or None
    if directory is not None:
        from pathlib import Path

        root: Any = Path(directory)
        if not root.is_dir():
            raise ContractError(f"contracts directory {str(root)!r} does not exist")
    else:
        root = resources.files("headwater") / "contracts"
    documents = [
        (entry.name, entry.read_text(encoding="utf-8"))
        for entry in root.iterdir()
        if entry.name.endswith(".toml")
    ]
    return parse_documents(sorted(documents))


def parse_documents(documents: Iterable[tuple[str, str]]) -> list[Contract]:
    contracts: list[Contract] = []
    for source, text in documents:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ContractError(f"{source}: invalid TOML: {exc}") from exc
        contracts.append(parse_contract(data, source))
    if not contracts:
        raise ContractError("no dataset contracts found")
    for field in ("dataset", "prefix"):
        seen: dict[str, str] = {}
        for c in contracts:
            value = getattr(c, field)
            if value in seen:
                raise ContractError(
                    f"{c.source}: field {field!r}: {value!r} already declared in {seen[value]}"
                )
            seen[value] = c.source
    return contracts


def select_contract(contracts: Iterable[Contract], relative_key: str) -> Contract:
    """The contract whose prefix is the longest match for ``relative_key`` (key after the root).

    Raises ContractViolation(unknown_dataset) when no prefix matches and
    ContractViolation(unsupported_format) when the extension does not fit the contract's format.
    """
    matches = [c for c in contracts if relative_key.startswith(c.prefix)]
    if not matches:
        raise ContractViolation(
            UNKNOWN_DATASET, f"no dataset contract matches key {relative_key!r}"
        )
    contract = max(matches, key=lambda c: len(c.prefix))
    suffix = PurePosixPath(relative_key).suffix.lower()
    allowed = FORMAT_EXTENSIONS[contract.format]
    if suffix not in allowed:
        raise ContractViolation(
            UNSUPPORTED_FORMAT,
            f"dataset {contract.dataset!r} expects {contract.format} "
            f"({', '.join(allowed)}), got {suffix or 'no extension'!r}",
        )
    return contract
