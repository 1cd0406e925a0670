"""A dataset's declared shape: format, typed columns and an optional primary key.

``parse_contract`` validates one parsed TOML declaration; its errors name the file and the field.
Capabilities add their own fields on top (lookup's key roles) and reuse this for the columns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from headwater.contracts.rules import ContractError

COLUMN_TYPES = ("string", "int64", "float64", "bool", "date", "timestamp")
FORMAT_EXTENSIONS: Mapping[str, tuple[str, ...]] = {
    "csv": (".csv",),
    "ndjson": (".ndjson", ".jsonl"),
    "json": (".json",),
}

# An empty unquoted CSV field is null unless a declaration says otherwise.
DEFAULT_NULL_VALUES: tuple[str, ...] = ("",)


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
    # CSV fields that mean "no value" (compared before type conversion, so "NA" in an int64
    # column is null, not a type mismatch). JSON formats have a real null and ignore this.
    null_values: tuple[str, ...] = DEFAULT_NULL_VALUES

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
    allowed = {"dataset", "prefix", "format", "primary_key", "columns", "null_values"}
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
    null_values = data.get("null_values")
    if null_values is None:  # absent (a capability passing it through may hand over None)
        null_values = list(DEFAULT_NULL_VALUES)
    if not isinstance(null_values, list) or not all(isinstance(v, str) for v in null_values):
        raise fail("null_values", 'must be a list of strings, e.g. ["", "NA"]')
    if data["format"] != "csv" and null_values != list(DEFAULT_NULL_VALUES):
        raise fail("null_values", "only applies to csv (JSON has its own null)")
    return Contract(
        dataset=data["dataset"],
        prefix=data["prefix"],
        format=data["format"],
        columns=tuple(columns),
        primary_key=tuple(primary_key),
        source=source,
        null_values=tuple(dict.fromkeys(null_values)),
    )
