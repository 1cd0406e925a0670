"""Read the packaged dataset contracts (TOML) so generated files match their columns and types.

The feeder only needs names, types, nullability, format and primary key; it keeps this small reader
instead of importing the processor so the two sides stay independently testable.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

PACKAGED_DIR = Path(__file__).resolve().parent.parent / "contracts"
TYPES = frozenset({"string", "int64", "float64", "bool", "date", "timestamp"})
EXTENSIONS = {"csv": "csv", "ndjson": "ndjson", "json": "json"}


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
    primary_key: tuple[str, ...]
    columns: tuple[Column, ...]

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.format]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def required(self) -> list[Column]:
        return [c for c in self.columns if not c.nullable]


def contracts_dir() -> Path:
    """CONTRACTS_DIR overrides the packaged contracts, as it does for the processor."""
    return Path(os.environ.get("CONTRACTS_DIR") or PACKAGED_DIR)


def load_contracts(directory: Path | None = None) -> dict[str, Contract]:
    """All contracts in ``directory`` keyed by dataset name."""
    directory = directory or contracts_dir()
    contracts: dict[str, Contract] = {}
    for path in sorted(directory.glob("*.toml")):
        contract = _parse(path)
        contracts[contract.dataset] = contract
    if not contracts:
        raise ValueError(f"no dataset contracts (*.toml) found in {directory}")
    return contracts


def _parse(path: Path) -> Contract:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    try:
        columns = tuple(
            Column(c["name"], c["type"], bool(c.get("nullable", True))) for c in data["columns"]
        )
        contract = Contract(
            dataset=data["dataset"],
            prefix=data["prefix"],
            format=data["format"],
            primary_key=tuple(data.get("primary_key", ())),
            columns=columns,
        )
    except KeyError as exc:
        raise ValueError(f"{path}: missing field {exc}") from exc
    unknown = {c.type for c in columns} - TYPES
    if contract.format not in EXTENSIONS or unknown:
        raise ValueError(f"{path}: unsupported format or types {contract.format!r} {unknown}")
    return contract
